//! Namespace URIs the parsers know, and the prefixes feeds forget to declare.

/// Namespaces the parsers care about, identified by URI (never by prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    None,
    Atom10,
    Atom03,
    Rss090,
    Rss10,
    /// `http://backend.userland.com/rss2` and friends: plain RSS elements.
    RssOther,
    Rdf,
    Dc,
    DcTerms,
    Content,
    Media,
    Itunes,
    /// `sy:` (RSS 1.0 syndication module): how often the feed updates.
    Syndication,
    /// `enc:` (RSS 1.0 mod_enclosure): enclosures in RDF feeds.
    Enclosure,
    Xhtml,
    Xml,
    Other,
}

impl Ns {
    /// Classifies a namespace URI. Case and a trailing slash are ignored,
    /// because feeds in the wild vary both.
    pub fn from_uri(uri: &[u8]) -> Ns {
        let uri = uri.trim_ascii();
        let uri = uri.strip_suffix(b"/").unwrap_or(uri);
        let lower = uri.to_ascii_lowercase();
        match lower.as_slice() {
            b"http://www.w3.org/2005/atom" => Ns::Atom10,
            b"http://purl.org/atom/ns#" | b"http://purl.org/atom/ns#draft-ietf-atompub-format-08" => Ns::Atom03,
            b"http://my.netscape.com/rdf/simple/0.9" => Ns::Rss090,
            b"http://purl.org/rss/1.0" => Ns::Rss10,
            b"http://backend.userland.com/rss2" | b"http://blogs.law.harvard.edu/tech/rss" | b"http://backend.userland.com/rss" => {
                Ns::RssOther
            }
            b"http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
            b"http://purl.org/dc/elements/1.1" | b"http://purl.org/dc/elements/1.0" => Ns::Dc,
            b"http://purl.org/dc/terms" => Ns::DcTerms,
            b"http://purl.org/rss/1.0/modules/content" => Ns::Content,
            b"http://search.yahoo.com/mrss" | b"http://video.search.yahoo.com/mrss" => Ns::Media,
            b"http://www.itunes.com/dtds/podcast-1.0.dtd" | b"http://example.com/dtds/podcast-1.0.dtd" => Ns::Itunes,
            b"http://purl.org/rss/1.0/modules/syndication" => Ns::Syndication,
            b"http://purl.oclc.org/net/rss_2.0/enc#" => Ns::Enclosure,
            b"http://www.w3.org/1999/xhtml" => Ns::Xhtml,
            b"http://www.w3.org/xml/1998/namespace" => Ns::Xml,
            _ => Ns::Other,
        }
    }

    /// The namespace a well-known prefix almost always stands for; used
    /// when a feed forgets to declare it.
    pub fn from_common_prefix(prefix: &[u8]) -> Option<Ns> {
        Some(match prefix {
            b"dc" => Ns::Dc,
            b"dcterms" => Ns::DcTerms,
            b"content" => Ns::Content,
            b"media" => Ns::Media,
            b"itunes" => Ns::Itunes,
            b"sy" => Ns::Syndication,
            b"atom" => Ns::Atom10,
            b"rdf" => Ns::Rdf,
            b"xhtml" => Ns::Xhtml,
            _ => return None,
        })
    }

    /// Elements of plain RSS (no namespace, or an RSS namespace).
    pub fn is_rss(self) -> bool {
        matches!(self, Ns::None | Ns::Rss090 | Ns::Rss10 | Ns::RssOther)
    }

    pub fn is_atom(self) -> bool {
        matches!(self, Ns::Atom10 | Ns::Atom03)
    }
}
