//! A lenient, namespace-aware event layer over `quick-xml`.
//!
//! Real feeds are often not well-formed: undefined HTML entities, bare `&`,
//! mismatched or missing end tags, undeclared prefixes. Browsers and
//! feedparser recover from all of these, so this layer does too, and records
//! the first problem as the feed's "bozo" reason instead of failing. It never
//! expands DTD entities (the DOCTYPE is skipped), so entity bombs are inert.
//! Everything borrows from the input slice; only decoded entities allocate.

use std::borrow::Cow;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::attrs::{Attrs, split_qname};
use super::entities::html5_entity as resolve_html5_entity;
use super::escape::{char_ref, unescape_into};
pub use super::escape::{escape_into, unescape_lenient};
use super::limits::{Limits, XmlCapped};
pub use super::ns::Ns;

mod markup;
use url::Url;

/// A start tag. `raw` is the tag's text between `<` and `>` (name and
/// attributes), kept so attributes are parsed only when asked for.
#[derive(Debug, Clone, Copy)]
pub struct Elem<'a> {
    pub ns: Ns,
    pub local: &'a [u8],
    raw: &'a [u8],
    lower: [u8; LOWER_MAX],
}

/// Longest local name kept lower-cased; no element we read is longer.
const LOWER_MAX: usize = 24;

impl Elem<'_> {
    /// The local name in ASCII lower case. Publishers write `pubdate`,
    /// `PubDate` and `PUBDATE`; readers (and feedparser) accept them all.
    pub fn name(&self) -> &[u8] {
        match self.lower.get(..self.local.len()) {
            Some(l) => l,
            None => self.local,
        }
    }
}

#[derive(Debug)]
pub enum Ev<'a> {
    Start(Elem<'a>),
    /// End of the element; carries its qualified name for re-serialization.
    End(&'a [u8]),
    Text(Cow<'a, str>),
    Eof,
}

struct Open<'a> {
    qname: &'a [u8],
    ns_mark: usize,
    base_mark: usize,
}

/// Give up on a document after this many XML errors: recovery is then
/// guessing, and pathological input must not make us loop.
const MAX_ERRORS: u32 = 200;

/// How far up the open elements a stray end tag is matched.
const MAX_END_TAG_SEARCH: usize = 64;

/// Namespace declarations in scope at once; more is an attack, and every
/// lookup walks them.
const MAX_NS_DECLS: usize = 256;

pub struct XmlReader<'a> {
    doc: &'a [u8],
    /// The same document as text when it is valid UTF-8 (always, after
    /// `to_utf8`), so slices become `&str` without validating them again.
    doc_str: Option<&'a str>,
    inner: quick_xml::Reader<&'a [u8]>,
    stack: Vec<Open<'a>>,
    ns: Vec<(&'a [u8], Ns)>,
    bases: Vec<Url>,
    pending_ends: usize,
    errors: u32,
    done: bool,
    /// The root element has been closed: anything but comments, processing
    /// instructions and white space after it is not well-formed.
    root_closed: bool,
    /// Why the document is not well-formed, if it is not.
    pub bozo: Option<String>,
    limits: Limits,
    /// What the limits left out so far.
    pub capped: XmlCapped,
    /// The last attribute value counted as too long (its address), so a
    /// value asked for twice counts once.
    last_long: usize,
}

impl<'a> XmlReader<'a> {
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn new(doc: &'a [u8], base: Option<Url>) -> Self {
        Self::with_limits(doc, base, Limits::default())
    }

    /// A reader that keeps to `limits` (nesting depth, attributes, entries).
    pub fn with_limits(doc: &'a [u8], base: Option<Url>, limits: Limits) -> Self {
        let mut inner = quick_xml::Reader::from_reader(doc);
        let cfg = inner.config_mut();
        cfg.allow_dangling_amp = true;
        cfg.allow_unmatched_ends = true;
        cfg.check_end_names = false;
        cfg.check_comments = false;
        cfg.trim_markup_names_in_closing_tags = true;
        XmlReader {
            doc,
            doc_str: std::str::from_utf8(doc).ok(),
            inner,
            stack: Vec::with_capacity(16),
            ns: Vec::with_capacity(16),
            bases: base.into_iter().collect(),
            pending_ends: 0,
            errors: 0,
            done: false,
            root_closed: false,
            bozo: None,
            limits,
            capped: XmlCapped::default(),
            last_long: 0,
        }
    }

    /// Whether one more entry fits when `have` are read; when not, the
    /// current element (the entry) is skipped and counted.
    pub fn entry_fits(&mut self, have: usize) -> bool {
        if have < self.limits.max_entries {
            return true;
        }
        self.capped.entries += 1;
        self.skip();
        false
    }

    /// Reads past the element just started without opening it or
    /// anything inside it, counting start and end tags: what is nested
    /// deeper than `max_depth` costs no memory and no stack.
    fn skip_too_deep(&mut self) {
        self.capped.too_deep += 1;
        let mut open = 1usize;
        while open > 0 {
            let before = self.inner.buffer_position();
            match self.inner.read_event() {
                Ok(Event::Start(_)) => open += 1,
                Ok(Event::End(_)) => open -= 1,
                Ok(Event::Eof) => {
                    self.done = true;
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    self.errors += 1;
                    self.set_bozo(|| format!("XML error: {e}"));
                    if self.errors > MAX_ERRORS || self.inner.buffer_position() <= before {
                        self.done = true;
                        return;
                    }
                }
            }
        }
    }

    pub fn set_bozo(&mut self, why: impl FnOnce() -> String) {
        if self.bozo.is_none() {
            self.bozo = Some(why());
        }
    }

    /// The base URL in scope (xml:base over the document URL).
    pub fn base(&self) -> Option<&Url> {
        self.bases.last()
    }

    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    pub fn next(&mut self) -> Ev<'a> {
        if self.pending_ends > 0 {
            self.pending_ends -= 1;
            return self.pop();
        }
        loop {
            if self.done {
                if self.stack.is_empty() {
                    return Ev::Eof;
                }
                self.set_bozo(|| "document ends inside an element".into());
                self.pending_ends = self.stack.len() - 1;
                return self.pop();
            }
            let before = self.inner.buffer_position();
            let event = match self.inner.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    self.errors += 1;
                    self.set_bozo(|| format!("XML error: {e}"));
                    if self.errors > MAX_ERRORS || self.inner.buffer_position() <= before {
                        self.done = true;
                    }
                    continue;
                }
            };
            match event {
                Event::Start(_) if self.stack.len() >= self.limits.max_depth => self.skip_too_deep(),
                Event::Empty(_) if self.stack.len() >= self.limits.max_depth => self.capped.too_deep += 1,
                Event::Start(s) => {
                    self.check_second_root();
                    return self.start(self.reborrow(&s), false);
                }
                Event::Empty(s) => {
                    self.check_second_root();
                    return self.start(self.reborrow(&s), true);
                }
                Event::End(e) => {
                    if let Some(ev) = self.end(self.reborrow(&e)) {
                        return ev;
                    }
                }
                Event::Text(t) => {
                    let b = bytes_of(t.into_inner());
                    if !self.stack.is_empty() && !b.is_empty() {
                        return Ev::Text(self.text_of(b));
                    }
                    if !b.trim_ascii().is_empty() {
                        self.set_bozo(|| "text outside the root element".into());
                    }
                }
                Event::CData(t) => {
                    let b = bytes_of(t.into_inner());
                    if !self.stack.is_empty() && !b.is_empty() {
                        return Ev::Text(self.text_of(b));
                    }
                    if self.stack.is_empty() {
                        self.set_bozo(|| "CDATA outside the root element".into());
                    }
                }
                Event::GeneralRef(r) => {
                    let name = bytes_of(r.into_inner());
                    if !self.stack.is_empty() {
                        return Ev::Text(self.resolve_ref(name));
                    }
                    self.set_bozo(|| "entity reference outside the root element".into());
                }
                Event::Eof => self.done = true,
                // XML 1.0 §2.8: the declaration, when present, is the very
                // first thing (after a byte order mark, already removed).
                Event::Decl(_) if before != 0 => self.set_bozo(|| "XML declaration not at the start of the document".into()),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
    }

    /// Events borrow from the input, but quick-xml ties tag slices to the
    /// event; this recovers the input lifetime by position, without unsafe.
    fn reborrow(&self, part: &[u8]) -> &'a [u8] {
        let doc: &'a [u8] = self.doc;
        let start = (part.as_ptr() as usize).wrapping_sub(doc.as_ptr() as usize);
        match doc.get(start..start.wrapping_add(part.len())) {
            Some(s) if s.as_ptr() == part.as_ptr() => s,
            _ => &[],
        }
    }

    /// `part` (a slice of the input) as text, borrowed when possible.
    fn text_of(&self, part: &'a [u8]) -> Cow<'a, str> {
        let start = (part.as_ptr() as usize).wrapping_sub(self.doc.as_ptr() as usize);
        match self.doc_str.and_then(|d| d.get(start..start.wrapping_add(part.len()))) {
            Some(s) if s.as_ptr() == part.as_ptr() => Cow::Borrowed(s),
            _ => utf8(part),
        }
    }

    fn pop(&mut self) -> Ev<'a> {
        match self.stack.pop() {
            Some(open) => {
                self.ns.truncate(open.ns_mark);
                self.bases.truncate(open.base_mark);
                self.root_closed |= self.stack.is_empty();
                Ev::End(open.qname)
            }
            None => Ev::Eof,
        }
    }

    fn check_second_root(&mut self) {
        if self.root_closed && self.stack.is_empty() {
            self.set_bozo(|| "content after the root element".into());
        }
    }

    /// Reads whatever follows the root element, so that junk after it
    /// makes the document bozo. Costs nothing on a well-formed document.
    pub fn finish(&mut self) {
        while !matches!(self.next(), Ev::Eof) {}
    }

    fn end(&mut self, qname: &'a [u8]) -> Option<Ev<'a>> {
        let qname = qname.trim_ascii();
        // Look for the start tag only among the innermost elements, so a run
        // of stray end tags in a deep document stays linear.
        let floor = self.stack.len().saturating_sub(MAX_END_TAG_SEARCH);
        match self.stack[floor..].iter().rposition(|o| o.qname == qname).map(|i| i + floor) {
            Some(i) => {
                if i + 1 != self.stack.len() {
                    self.set_bozo(|| "mismatched end tag".into());
                }
                self.pending_ends = self.stack.len() - i - 1;
                Some(self.pop())
            }
            None => {
                self.set_bozo(|| "end tag without a start tag".into());
                None
            }
        }
    }

    fn start(&mut self, raw: &'a [u8], empty: bool) -> Ev<'a> {
        let name_len = raw.iter().position(|b| b.is_ascii_whitespace() || *b == b'/').unwrap_or(raw.len());
        let qname = &raw[..name_len];
        let ns_mark = self.ns.len();
        let base_mark = self.bases.len();
        let mut xml_base = None;
        for (i, (key, value)) in Attrs::new(&raw[name_len..]).enumerate() {
            if i == self.limits.max_attributes {
                self.capped.many_attributes += 1;
                break;
            }
            let prefix = if key == b"xmlns" { Some(&b""[..]) } else { key.strip_prefix(b"xmlns:") };
            if let Some(prefix) = prefix {
                if value.len() > self.limits.max_attribute_bytes {
                    self.capped.long_attributes += 1;
                    continue;
                }
                if self.ns.len() >= MAX_NS_DECLS {
                    self.set_bozo(|| "too many namespace declarations".into());
                    continue;
                }
                self.ns.push((prefix, Ns::from_uri(value)));
            } else if key == b"xml:base" {
                if value.len() > self.limits.max_attribute_bytes {
                    self.capped.long_attributes += 1;
                    continue;
                }
                xml_base = Some(value);
            }
        }
        if let Some(value) = xml_base {
            let value = unescape_lenient(self.text_of(value));
            let joined = match self.bases.last() {
                Some(b) => b.join(value.trim()).ok(),
                None => Url::parse(value.trim()).ok(),
            };
            if let Some(u) = joined {
                self.bases.push(u);
            }
        }
        let (prefix, local) = split_qname(qname);
        let ns = self.resolve_prefix(prefix);
        self.stack.push(Open { qname, ns_mark, base_mark });
        if empty {
            self.pending_ends = 1;
        }
        let mut lower = [0u8; LOWER_MAX];
        if local.len() <= LOWER_MAX {
            for (l, c) in lower.iter_mut().zip(local) {
                *l = c.to_ascii_lowercase();
            }
        }
        Ev::Start(Elem { ns, local, raw, lower })
    }

    fn resolve_prefix(&mut self, prefix: &[u8]) -> Ns {
        // The unprefixed case is nearly every element: keep it free of
        // byte comparisons.
        if prefix.is_empty() {
            return self.ns.iter().rev().find(|(p, _)| p.is_empty()).map_or(Ns::None, |(_, ns)| *ns);
        }
        if prefix == b"xml" {
            return Ns::Xml;
        }
        if let Some((_, ns)) = self.ns.iter().rev().find(|(p, _)| p.len() == prefix.len() && *p == prefix) {
            return *ns;
        }
        self.set_bozo(|| format!("undeclared namespace prefix {}", String::from_utf8_lossy(prefix)));
        Ns::from_common_prefix(prefix).unwrap_or(Ns::Other)
    }

    fn resolve_ref(&mut self, name: &'a [u8]) -> Cow<'a, str> {
        let name_str = self.text_of(name);
        if let Some(c) = char_ref(&name_str) {
            if is_xml_forbidden(c) {
                self.set_bozo(|| format!("reference to a character XML forbids: &{name_str};"));
            }
            return Cow::Owned(c.to_string());
        }
        if let Some(s) = resolve_predefined_entity(&name_str) {
            return Cow::Borrowed(s);
        }
        self.set_bozo(|| format!("undefined entity &{name_str};"));
        match resolve_html5_entity(&name_str) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(format!("&{name_str};")),
        }
    }

    /// The value of attribute `ns:local` of `elem`, entities decoded.
    /// Only valid while `elem` is the current element (its namespace
    /// declarations are in scope).
    pub fn attr(&mut self, elem: &Elem<'a>, ns: Ns, local: &[u8]) -> Option<Cow<'a, str>> {
        let [value] = self.attrs(elem, ns, [local]);
        value
    }

    /// The values of several attributes of `elem` in namespace `ns`, in the
    /// order of `locals`, from one pass over the tag (the first of a
    /// repeated name wins, as with [`XmlReader::attr`]). Values past
    /// `max_attribute_bytes` are left out and counted.
    pub fn attrs<const N: usize>(&mut self, elem: &Elem<'a>, ns: Ns, locals: [&[u8]; N]) -> [Option<Cow<'a, str>>; N] {
        let mut found: [Option<&'a [u8]>; N] = [None; N];
        let mut missing = N;
        // The attributes start right after the element's name.
        let attrs_at = elem.local.as_ptr() as usize + elem.local.len() - elem.raw.as_ptr() as usize;
        for (seen, (key, value)) in Attrs::new(&elem.raw[attrs_at..]).enumerate() {
            if seen == self.limits.max_attributes || missing == 0 {
                break;
            }
            let (prefix, name) = split_qname(key);
            let Some(i) = locals.iter().position(|l| *l == name) else { continue };
            if found[i].is_some() || prefix == b"xmlns" {
                continue;
            }
            let key_ns = if prefix.is_empty() { Ns::None } else { self.resolve_prefix(prefix) };
            if key_ns == ns {
                found[i] = Some(value);
                missing -= 1;
            }
        }
        found.map(|value| self.attr_value(value?))
    }

    fn attr_value(&mut self, found: &'a [u8]) -> Option<Cow<'a, str>> {
        if found.len() > self.limits.max_attribute_bytes {
            if found.as_ptr() as usize != self.last_long {
                self.last_long = found.as_ptr() as usize;
                self.capped.long_attributes += 1;
            }
            return None;
        }
        let raw = self.text_of(found);
        if !raw.contains('&') {
            return Some(raw);
        }
        let mut value = String::with_capacity(raw.len());
        if unescape_into(&mut value, &raw) {
            self.set_bozo(|| "undefined entity or bare & in an attribute".into());
        }
        Some(Cow::Owned(value))
    }

    /// Skips the rest of the current element.
    pub fn skip(&mut self) {
        let depth = self.depth();
        loop {
            match self.next() {
                Ev::End(_) if self.depth() < depth => return,
                Ev::Eof => return,
                _ => {}
            }
        }
    }
}

/// Characters XML 1.0 (§2.2) does not allow in a document, raw or as a
/// reference: C0 controls other than tab, line feed and carriage return,
/// and the non-characters U+FFFE and U+FFFF.
pub fn is_xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Whether a UTF-8 document holds a character XML forbids ([`is_xml_forbidden`]).
/// One pass in 64-byte blocks, without early exit inside a block, so the
/// scan vectorizes: a block is looked at byte by byte only when it holds
/// a forbidden control byte or `EF`, the lead byte of U+FFFE and U+FFFF
/// (`EF BF BE`/`BF`), which is rare outside CJK punctuation.
pub fn has_forbidden_chars(doc: &[u8]) -> bool {
    // Branch-free per byte (`&`, `|`, not `&&`), so the compiler turns
    // each block into a few vector compares.
    let suspect = |b: u8| {
        // Tab, line feed and carriage return are 0, 1 and 4 after `- 9`:
        // fewer vector compares than testing each.
        let t = b.wrapping_sub(b'\t');
        let white = (t < 2) | (t == 4);
        u8::from((b < 0x20) & !white) | u8::from(b == 0xEF)
    };
    let forbidden_at = |i: usize| match doc[i] {
        0xEF => doc.get(i + 1) == Some(&0xBF) && matches!(doc.get(i + 2), Some(0xBE | 0xBF)),
        b => b < 0x20,
    };
    let found_in = |from: usize, len: usize| (from..from + len).any(|i| suspect(doc[i]) != 0 && forbidden_at(i));
    let mut blocks = doc.chunks_exact(64);
    if blocks.by_ref().enumerate().any(|(n, block)| block.iter().fold(0u8, |acc, &b| acc | suspect(b)) != 0 && found_in(n * 64, 64)) {
        return true;
    }
    let rest = blocks.remainder().len();
    found_in(doc.len() - rest, rest)
}

impl<'a> XmlReader<'a> {
    /// Fast path for the usual leaf element (text and CDATA up to an end
    /// tag): decodes straight from the input instead of one event per
    /// entity reference, then moves quick-xml's cursor (the remaining
    /// slice) to the end tag. Anything else is left to the event loop.
    fn fast_leaf_text(&mut self, out: &mut String) -> bool {
        if self.pending_ends > 0 || self.done {
            return false;
        }
        let rest: &'a [u8] = self.inner.get_ref();
        let mut pos = 0;
        let end = loop {
            let Some(lt) = memchr::memchr(b'<', &rest[pos..]).map(|i| pos + i) else { return false };
            match rest.get(lt + 1) {
                Some(b'/') => break lt,
                Some(b'!') if rest[lt..].starts_with(b"<![CDATA[") => match cdata_end(&rest[lt + 9..]) {
                    Some(i) => pos = lt + 9 + i + 3,
                    None => return false,
                },
                _ => return false,
            }
        };
        out.reserve(end);
        let mut pos = 0;
        let mut undefined = false;
        while pos < end {
            let lt = memchr::memchr(b'<', &rest[pos..end]).map_or(end, |i| pos + i);
            undefined |= unescape_into(out, &self.text_of(&rest[pos..lt]));
            if lt == end {
                break;
            }
            let close = lt + 9 + cdata_end(&rest[lt + 9..end]).unwrap_or(0);
            out.push_str(&self.text_of(&rest[lt + 9..close]));
            pos = close + 3;
        }
        if undefined {
            self.set_bozo(|| "undefined entity, bare & or reference to a forbidden character".into());
        }
        *self.inner.get_mut() = &rest[end..];
        true
    }
}

/// Where `]]>` starts in `s`. The searcher is built once: building one
/// per CDATA section cost more than the search in a typical feed.
fn cdata_end(s: &[u8]) -> Option<usize> {
    static END: std::sync::LazyLock<memchr::memmem::Finder<'static>> = std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"]]>"));
    END.find(s)
}

/// Gives back the slack of a grown string: entries live as long as the
/// feed, and for a 50 MB feed the slack would be tens of MB.
fn fit(mut s: String) -> String {
    if s.capacity() - s.len() > 32 {
        s.shrink_to_fit();
    }
    s
}

fn bytes_of(c: Cow<'_, [u8]>) -> &[u8] {
    match c {
        Cow::Borrowed(b) => b,
        // The slice reader always borrows; an owned buffer would only come
        // from a normalisation we do not enable. Dropping it is safe.
        Cow::Owned(_) => &[],
    }
}

pub fn utf8(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(doc: &str) -> (Vec<String>, Option<String>) {
        let mut r = XmlReader::new(doc.as_bytes(), None);
        let mut out = Vec::new();
        loop {
            match r.next() {
                Ev::Start(e) => out.push(format!("<{}:{:?}", String::from_utf8_lossy(e.local), e.ns)),
                Ev::End(q) => out.push(format!("/{}", String::from_utf8_lossy(q))),
                Ev::Text(t) => out.push(t.into_owned()),
                Ev::Eof => break,
            }
        }
        (out, r.bozo)
    }

    #[test]
    fn html_entities_and_bare_ampersands_recover() {
        let mut r = XmlReader::new("<t>caf&eacute; AT&T &amp; &nbsp;x &bogus;</t>".as_bytes(), None);
        assert!(matches!(r.next(), Ev::Start(_)));
        assert_eq!(r.read_text(), "café AT&T & \u{a0}x &bogus;");
        assert!(r.bozo.is_some());
        // with a child element the event path decodes, not the fast path
        let mut r = XmlReader::new("<t>caf&eacute; <b>&amp;</b> AT&T &zzz;</t>".as_bytes(), None);
        r.next();
        assert_eq!(r.read_text(), "café & AT&T &zzz;");
        assert!(r.bozo.unwrap().contains("eacute"));
    }

    #[test]
    fn truncated_document_closes_open_elements() {
        let (evs, bozo) = texts("<rss><channel><title>x");
        assert_eq!(evs, ["<rss:None", "<channel:None", "<title:None", "x", "/title", "/channel", "/rss"]);
        assert!(bozo.is_some());
    }

    #[test]
    fn mismatched_end_tags_close_up_to_the_match() {
        let (evs, bozo) = texts("<a><b><c></b>t</a></zz>");
        assert_eq!(evs, ["<a:None", "<b:None", "<c:None", "/c", "/b", "t", "/a"]);
        assert!(bozo.is_some());
    }

    #[test]
    fn namespaces_resolve_by_uri_and_undeclared_prefixes_guess() {
        let doc = r#"<x xmlns:foo="http://purl.org/dc/elements/1.1/"><foo:creator/><dc:date/><y:z/></x>"#;
        let (evs, bozo) = texts(doc);
        assert_eq!(evs[1], "<creator:Dc");
        assert_eq!(evs[3], "<date:Dc");
        assert_eq!(evs[5], "<z:Other");
        assert!(bozo.unwrap().contains("undeclared"));
    }

    #[test]
    fn doctype_entities_are_never_expanded() {
        let doc = "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><x>&b;</x>";
        let mut r = XmlReader::new(doc.as_bytes(), None);
        r.next();
        assert_eq!(r.read_text(), "&b;");
    }

    #[test]
    fn several_attributes_in_one_pass() {
        let doc = r#"<r xmlns:m="http://search.yahoo.com/mrss/"><m:content m:url="ns" url="a.mp3" type='audio/mpeg' url="second" fileSize=12 title="x &amp; y"/></r>"#;
        let mut r = XmlReader::new(doc.as_bytes(), None);
        r.next();
        let Ev::Start(c) = r.next() else { panic!() };
        let [url, ty, size, title, missing] = r.attrs(&c, Ns::None, [b"url", b"type", b"fileSize", b"title", b"medium"]);
        assert_eq!(url.as_deref(), Some("a.mp3"), "the first unprefixed url, not m:url or the repeat");
        assert_eq!(ty.as_deref(), Some("audio/mpeg"), "single-quoted");
        assert_eq!(size.as_deref(), Some("12"), "unquoted");
        assert_eq!(title.as_deref(), Some("x & y"), "unescaped");
        assert_eq!(missing, None);
        let [prefixed] = r.attrs(&c, Ns::Media, [b"url"]);
        assert_eq!(prefixed.as_deref(), Some("ns"), "namespaced lookup");
    }

    #[test]
    fn attribute_lookup_stops_at_the_attribute_cap() {
        let doc = r#"<a b="1" c="2" d="3">"#;
        let limits = Limits { max_attributes: 2, ..Limits::default() };
        let mut r = XmlReader::with_limits(doc.as_bytes(), None, limits);
        let Ev::Start(a) = r.next() else { panic!() };
        let [b, c, d] = r.attrs(&a, Ns::None, [b"b", b"c", b"d"]);
        assert_eq!((b.as_deref(), c.as_deref(), d.as_deref()), (Some("1"), Some("2"), None));
    }

    #[test]
    fn xml_base_nests_and_attrs_unescape() {
        let doc = r#"<a xml:base="http://e.com/d/"><b xml:base="sub/" href="x?a=1&amp;b=2">"#;
        let mut r = XmlReader::new(doc.as_bytes(), None);
        r.next();
        let Ev::Start(b) = r.next() else { panic!() };
        assert_eq!(r.base().unwrap().as_str(), "http://e.com/d/sub/");
        assert_eq!(r.attr(&b, Ns::None, b"href").as_deref(), Some("x?a=1&b=2"));
        assert!(r.bozo.is_none());
        assert_eq!(r.attr(&b, Ns::None, b"nope"), None);
        let mut r = XmlReader::new(r#"<a href="?a=1&b=2&eacute;">"#.as_bytes(), None);
        let Ev::Start(a) = r.next() else { panic!() };
        assert_eq!(r.attr(&a, Ns::None, b"href").as_deref(), Some("?a=1&b=2é"));
        assert!(r.bozo.is_some());
    }

    #[test]
    fn markup_is_reserialized() {
        let mut r = XmlReader::new(r#"<c><p class="x">a &lt; b</p><br/></c>"#.as_bytes(), None);
        r.next();
        assert_eq!(r.read_markup(), r#"<p class="x">a &lt; b</p><br></br>"#);
    }

    #[test]
    fn forbidden_characters_are_found_and_allowed_ones_not() {
        let cases = [
            ("plain text", "a\tb\nc\r", false),
            ("NUL", "a\u{0}b", true),
            ("escape", "a\u{1b}b", true),
            ("form feed", "a\u{c}b", true),
            ("DEL and C1 are allowed", "a\u{7f}\u{85}b", false),
            ("U+FFFE", "a\u{fffe}", true),
            ("U+FFFF at the very end", "\u{ffff}", true),
            ("replacement character is allowed", "a\u{fffd}b", false),
            ("halfwidth forms are allowed", "\u{ffe8}\u{ffee}", false),
            ("control past the first block", &format!("{}\u{2}", "x".repeat(200)), true),
            ("U+FFFF across a block boundary", &format!("{}\u{ffff}{}", "x".repeat(63), "y".repeat(70)), true),
            ("U+FFFE inside a full block", &format!("{}\u{fffe}{}", "x".repeat(10), "y".repeat(100)), true),
            ("fullwidth punctuation fills blocks", &"\u{ff01}\u{ff08}\u{ff09}".repeat(40), false),
            ("tabs and newlines fill blocks", &"\t\r\n ".repeat(64), false),
        ];
        for (name, text, want) in cases {
            assert_eq!(has_forbidden_chars(text.as_bytes()), want, "{name}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        for doc in ["", "<", "<<<>>>", "<a b='", "</a>", "<a><![CDATA[x", "&", "<?xml", "<!--", "\u{0}\u{1}<a>&#xFFFFFFFF;</a>"] {
            let _ = texts(doc);
        }
    }
}
