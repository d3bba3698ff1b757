//! The host a request goes to, as politeness counts it: `[fetch]
//! per_host` and `per_host_gap` apply per key, in one process (the
//! fetcher) and across a fleet (the store's host leases), so both must
//! compute it the same way.

use url::Url;

/// `host:port` of `url` (the port its scheme implies when none is given;
/// host names lower-cased, as the URL parser leaves them), e.g.
/// `example.org:443`. Two URLs share a key exactly when a server would
/// see their requests arrive at the same address and port by name.
pub fn politeness_key(url: &Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0))
}

/// [`politeness_key`] of a URL given as text; text that is not a URL is
/// its own key (it fails to fetch anyway, and then bothers no host).
pub fn politeness_key_of(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_owned(), |u| politeness_key(&u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let cases = [
            ("https://Example.ORG/feed", "example.org:443"),
            ("http://example.org/feed", "example.org:80"),
            ("http://example.org:8080/a?b", "example.org:8080"),
            ("https://example.org:443/x", "example.org:443"),
            ("http://127.0.0.1:9000/f", "127.0.0.1:9000"),
            ("http://[::1]:9000/f", "[::1]:9000"),
            ("not a url", "not a url"),
        ];
        for (url, want) in cases {
            assert_eq!(politeness_key_of(url), want, "{url}");
        }
    }
}
