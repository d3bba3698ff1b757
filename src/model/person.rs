//! Authors as origins write them, reduced to the name a reader is shown
//! (the parser applies it to what feeds say, normalization to every origin).
//!
//! RSS 2.0 asks for an e-mail address in `<author>` and `managingEditor`,
//! so publishers write `desk@example.org (News Desk)`; others write the
//! mail form `News Desk <desk@example.org>`, or only the address. A story
//! names its authors and never publishes their addresses, so the address
//! is dropped everywhere. A bare address is not a name (its local part is
//! `desk`, `noreply`, `info` as often as a person's), so it yields no name
//! at all: the entry then falls back to its feed's authors. feedparser
//! keeps the address separately (`author_detail.email`); wirefeed has no
//! use for it.

/// The name in an author field, or `None` when it holds no name (empty,
/// or only an e-mail address).
pub fn person_name(raw: &str) -> Option<String> {
    // The usual byline (letters, single spaces, no address or quotes)
    // is its own name.
    // An ASCII byline is checked byte by byte; one with other characters
    // char by char, since Unicode has spaces of its own.
    let plain = |c: char| c == ' ' || !(c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '@' | '"' | '\'' | ':'));
    let plain_ascii = |b: &[u8]| {
        b.iter().all(|&c| c.is_ascii_graphic() && !matches!(c, b'<' | b'>' | b'(' | b')' | b'@' | b'"' | b'\'' | b':') || c == b' ')
            && !b.windows(2).any(|w| w == b"  ")
    };
    let trimmed = raw.trim();
    let bytes = trimmed.as_bytes();
    let plain_all = if bytes.is_ascii() { plain_ascii(bytes) } else { trimmed.chars().all(plain) && !trimmed.contains("  ") };
    if !trimmed.is_empty() && plain_all {
        return Some(trimmed.to_owned());
    }
    let s = raw.trim();
    let s = s.strip_prefix("mailto:").unwrap_or(s).trim();
    if s.is_empty() {
        return None;
    }
    // `Name <address>`
    if let Some(open) = s.rfind('<')
        && let Some(close) = s[open..].find('>').map(|c| open + c)
        && is_email(s[open + 1..close].trim().trim_start_matches("mailto:"))
    {
        let rest = format!("{} {}", &s[..open], &s[close + 1..]);
        return tidy(&rest);
    }
    // `address (Name)` or `Name (address)`
    if let Some(inner) = s.strip_suffix(')')
        && let Some(open) = inner.rfind('(')
    {
        let (outside, inside) = (inner[..open].trim(), inner[open + 1..].trim());
        if is_email(outside) {
            return tidy(inside);
        }
        if is_email(inside) {
            return tidy(outside);
        }
    }
    if is_email(s) {
        return None;
    }
    tidy(s)
}

/// One word holding `local@domain`.
fn is_email(s: &str) -> bool {
    let s = s.strip_prefix("mailto:").unwrap_or(s);
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.contains(char::is_whitespace)
                && !s.contains(['<', '>', '(', ')'])
        }
        None => false,
    }
}

/// Single spaces, surrounding quotes gone; `None` when nothing is left.
fn tidy(s: &str) -> Option<String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let joined = words.join(" ");
    let t = joined.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
    (!t.is_empty()).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_addresses() {
        let cases = [
            ("RSS address (name)", "desk@example.org (News Desk)", Some("News Desk")),
            ("mail form", "News Desk <desk@example.org>", Some("News Desk")),
            ("quoted mail form", "\"Doe, Jane\" <jane@example.org>", Some("Doe, Jane")),
            ("name (address)", "Jane Doe (jane@example.org)", Some("Jane Doe")),
            ("bare address is no name", "desk@example.org", None),
            ("mailto address", "mailto:desk@example.org", None),
            ("address in angle brackets only", "<desk@example.org>", None),
            ("address with empty parens", "desk@example.org ()", None),
            ("plain name", "  Jane   Doe ", Some("Jane Doe")),
            ("name with a parenthesis that is no address", "Jane Doe (Reuters)", Some("Jane Doe (Reuters)")),
            ("handle is not an address", "@janedoe", Some("@janedoe")),
            ("name with an at sign and spaces", "Team @ Home", Some("Team @ Home")),
            ("empty", "  ", None),
            ("non-breaking space is white space", "Jane\u{A0}Doe", Some("Jane Doe")),
            ("doubled space collapses", "Jane  Doe", Some("Jane Doe")),
            ("apostrophe inside a name", "Seán O'Brien", Some("Seán O'Brien")),
            ("quoted name", "\"Jane Doe\"", Some("Jane Doe")),
            ("letters beyond ASCII", "Björn Müller", Some("Björn Müller")),
        ];
        for (name, input, want) in cases {
            assert_eq!(person_name(input).as_deref(), want, "{name}: {input:?}");
        }
    }
}
