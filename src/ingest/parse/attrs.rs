//! Attributes of a start tag, tokenized leniently.

pub fn split_qname(q: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b':', q) {
        Some(i) => (&q[..i], &q[i + 1..]),
        None => (&[], q),
    }
}

/// Lenient attribute tokenizer: quoted, single-quoted or unquoted values;
/// junk between attributes is skipped rather than fatal.
pub struct Attrs<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Attrs<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Attrs { s, pos: 0 }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s;
        loop {
            while self.pos < s.len() && (s[self.pos].is_ascii_whitespace() || s[self.pos] == b'/') {
                self.pos += 1;
            }
            if self.pos >= s.len() {
                return None;
            }
            let key_start = self.pos;
            while self.pos < s.len() && !matches!(s[self.pos], b'=' | b' ' | b'\t' | b'\n' | b'\r' | b'/') {
                self.pos += 1;
            }
            let key = &s[key_start..self.pos];
            while self.pos < s.len() && s[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if self.pos >= s.len() || s[self.pos] != b'=' {
                if key.is_empty() {
                    self.pos += 1;
                    continue;
                }
                return Some((key, &[]));
            }
            self.pos += 1;
            while self.pos < s.len() && s[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            let value = match s.get(self.pos) {
                Some(&q @ (b'"' | b'\'')) => {
                    let start = self.pos + 1;
                    let end = memchr::memchr(q, &s[start..]).map_or(s.len(), |e| start + e);
                    self.pos = (end + 1).min(s.len());
                    &s[start..end]
                }
                _ => {
                    let start = self.pos;
                    while self.pos < s.len() && !s[self.pos].is_ascii_whitespace() {
                        self.pos += 1;
                    }
                    &s[start..self.pos]
                }
            };
            return Some((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_sloppy_attributes() {
        let got: Vec<_> = Attrs::new(br#" a="1" b='2' c=3 d  e = "x y" f="unterminated"#).collect();
        let want: Vec<(&[u8], &[u8])> =
            vec![(b"a", b"1"), (b"b", b"2"), (b"c", b"3"), (b"d", b""), (b"e", b"x y"), (b"f", b"unterminated")];
        assert_eq!(got, want);
        assert_eq!(split_qname(b"dc:date"), (&b"dc"[..], &b"date"[..]));
    }
}
