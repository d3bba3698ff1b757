//! Reading one RSS item or Atom entry into its parts, one struct per
//! vocabulary, before a format's adapter maps them onto [`ParsedEntry`].
//!
//! Feeds borrow each other's elements (`<atom:link>` in RSS, `<guid>` or a
//! bare `<updated>` in Atom, `<link href>` in RSS), and feedparser reads
//! them all, so every item is read with all three vocabularies; only the
//! adapters differ, in which vocabulary wins.

use super::atom::AtomItem;
use super::ext::ExtItem;
use super::model::{ParsedEntry, TextKind, push_unique};
use super::rss::RssItem;
use super::xml::{Elem, Ev, Ns, XmlReader};

#[derive(Debug, Default)]
pub struct ItemParts {
    pub rss: RssItem,
    pub atom: AtomItem,
    pub ext: ExtItem,
}

/// Which vocabulary reads an element both know (`title`, `link`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    Rss,
    Atom,
}

/// Calls `f` for every child element of the current one; a child `f` does
/// not consume is skipped whole.
pub fn children<'a>(xr: &mut XmlReader<'a>, mut f: impl FnMut(&mut XmlReader<'a>, &Elem<'a>) -> bool) {
    let depth = xr.depth();
    loop {
        match xr.next() {
            Ev::Start(e) => {
                let consumed = f(xr, &e);
                if !consumed {
                    xr.skip();
                }
            }
            Ev::End(_) if xr.depth() < depth => return,
            Ev::Eof => return,
            _ => {}
        }
    }
}

/// Reads the current item/entry element. `home` is the namespace of the
/// document's root: its elements count as the format's own.
pub fn read_item(xr: &mut XmlReader<'_>, home: Ns, prefer: Prefer) -> ItemParts {
    let mut p = ItemParts::default();
    children(xr, |xr, e| {
        if e.ns.is_rss() || e.ns.is_atom() || e.ns == home {
            match prefer {
                Prefer::Rss => p.rss.read(xr, e) || p.atom.read(xr, e),
                Prefer::Atom => p.atom.read(xr, e) || p.rss.read(xr, e),
            }
        } else if e.ns == Ns::Xhtml && e.name() == b"body" {
            p.rss.set_body(xr.read_markup());
            true
        } else {
            p.ext.read(xr, e)
        }
    });
    p
}

impl ItemParts {
    /// The lists every vocabulary adds to (authors, categories,
    /// enclosures) and the image, merged in document-independent order.
    pub fn merge_lists(&mut self, entry: &mut ParsedEntry) {
        for a in self.rss.authors.drain(..).chain(self.atom.authors.drain(..)).chain(self.ext.creators.drain(..)) {
            push_unique(&mut entry.authors, a);
        }
        for c in self.rss.categories.drain(..).chain(self.atom.categories.drain(..)).chain(self.ext.subjects.drain(..)) {
            push_unique(&mut entry.categories, c);
        }
        entry.enclosures.append(&mut self.rss.enclosures);
        entry.enclosures.append(&mut self.atom.enclosures);
        for e in self.ext.take_enclosures() {
            entry.add_enclosure(e);
        }
        entry.apply_episode_duration(self.ext.duration);
        entry.image = self.ext.take_image();
    }

    /// The summary and its kind, from the vocabulary `prefer` names first,
    /// then the other, then the extensions. RSS `description` is HTML.
    pub fn take_summary(&mut self, prefer: Prefer) -> (Option<String>, TextKind) {
        let rss = self.rss.description.take().map(|d| (d, TextKind::Html));
        let atom = self.atom.summary.take().map(|s| (s, self.atom.summary_kind));
        let first = match prefer {
            Prefer::Rss => rss.or(atom),
            Prefer::Atom => atom.or(rss),
        };
        match first.or_else(|| self.ext.description.take().map(|d| (d, self.ext.description_kind))) {
            Some((s, kind)) => (Some(s), kind),
            None => (None, TextKind::Html),
        }
    }
}
