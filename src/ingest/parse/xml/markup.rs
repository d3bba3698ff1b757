//! Reading an element's content as text or as markup: the XML layer's
//! serializer for HTML carried unescaped (XHTML, sloppy RSS), which writes
//! XHTML-namespace elements as HTML.

use std::borrow::Cow;

use super::{Elem, Ev, Ns, XmlReader, escape_into, fit};
use crate::ingest::parse::attrs::Attrs;

impl<'a> XmlReader<'a> {
    /// Text of the current element, descendants' text included, tags dropped.
    pub fn read_text(&mut self) -> String {
        let mut out = String::new();
        self.read_into(&mut out, false);
        fit(out)
    }

    /// Content of the current element with child elements re-serialized as
    /// markup, for HTML carried unescaped (XHTML, sloppy RSS).
    pub fn read_markup(&mut self) -> String {
        let mut out = String::new();
        self.read_into(&mut out, true);
        fit(out)
    }

    /// The current element itself (start tag, content, end tag) as
    /// markup, XHTML unprefixed as in [`XmlReader::read_markup`].
    pub fn read_element_markup(&mut self, e: &Elem<'a>) -> String {
        let mut out = String::new();
        let name = self.write_start_tag(&mut out, e);
        let depth = self.depth();
        let mut names = Vec::new();
        self.markup_events(&mut out, depth, &mut names, true);
        out.push_str("</");
        out.push_str(&name);
        out.push('>');
        fit(out)
    }

    /// Content of the current element as markup, and whether it had child
    /// elements at all (without them the markup is just its text).
    pub fn read_markup_checked(&mut self) -> (String, bool) {
        let mut out = String::new();
        let depth = self.depth();
        let leaf = self.fast_leaf_text(&mut out);
        let mut names = Vec::new();
        let had_elements = self.markup_events(&mut out, depth, &mut names, true);
        (fit(out), !leaf && had_elements)
    }

    fn read_into(&mut self, out: &mut String, markup: bool) {
        let depth = self.depth();
        self.fast_leaf_text(out);
        let mut names = Vec::new();
        self.markup_events(out, depth, &mut names, markup);
    }

    /// The events up to the end of the element open at `depth`. Text
    /// nested in child elements is escaped only in markup mode; `names`
    /// holds the names written for open child elements, so end tags match
    /// their (possibly unprefixed) start tags.
    /// Returns whether any child element was met.
    fn markup_events(&mut self, out: &mut String, depth: usize, names: &mut Vec<Cow<'a, str>>, markup: bool) -> bool {
        let mut elements = false;
        loop {
            match self.next() {
                Ev::Text(t) if markup && self.depth() > depth => escape_into(out, &t),
                Ev::Text(t) => out.push_str(&t),
                Ev::Start(e) => {
                    elements = true;
                    if markup {
                        let name = self.write_start_tag(out, &e);
                        names.push(name);
                    }
                }
                Ev::End(q) => {
                    if self.depth() < depth {
                        return elements;
                    }
                    if markup {
                        out.push_str("</");
                        out.push_str(&names.pop().unwrap_or_else(|| self.text_of(q)));
                        out.push('>');
                    }
                }
                Ev::Eof => return elements,
            }
        }
    }

    /// Writes `e`'s start tag and returns the name written. An element in
    /// the XHTML namespace is written as HTML: without its prefix
    /// (`xhtml:p` is `p`) and without namespace declarations, which mean
    /// nothing to an HTML reader and would hide the markup from it. Other
    /// tags are written as they came.
    fn write_start_tag(&mut self, out: &mut String, e: &Elem<'a>) -> Cow<'a, str> {
        let name_len = e.raw.iter().position(|b| b.is_ascii_whitespace() || *b == b'/').unwrap_or(e.raw.len());
        let qname = &e.raw[..name_len];
        let rest = &e.raw[name_len..];
        let xhtml_rewrite = e.ns == Ns::Xhtml && (qname.contains(&b':') || memchr::memmem::find(rest, b"xmlns").is_some());
        out.push('<');
        if !xhtml_rewrite {
            out.push_str(&self.text_of(e.raw));
            out.push('>');
            return self.text_of(qname);
        }
        let name = self.text_of(e.local);
        out.push_str(&name);
        for (key, value) in Attrs::new(rest).take(self.limits.max_attributes) {
            if key == b"xmlns" || key.starts_with(b"xmlns:") {
                continue;
            }
            let value = self.text_of(value);
            let quote = if value.contains('"') { '\'' } else { '"' };
            out.push(' ');
            out.push_str(&self.text_of(key));
            out.push('=');
            out.push(quote);
            out.push_str(&value);
            out.push(quote);
        }
        out.push('>');
        name
    }
}
