//! Matching parsed queries against stories, fast.
//!
//! A story's text is prepared once (lowercased, optionally accent-folded,
//! whitespace collapsed; content reduced from sanitized HTML to its text)
//! however many queries look at it. Every word, phrase and prefix of every
//! query shares one Aho-Corasick automaton, run once over each field of the
//! story; a query is then a walk over a tree of bit lookups. Regexes (rare)
//! run on demand, once per field a story is asked about.
//!
//! Word boundaries: a term that starts (ends) with a letter or digit must
//! not be preceded (followed) by one. Letters of scripts written without
//! spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) never join
//! words, so `東京` matches inside `東京で大雨` — the same way Unicode's word
//! segmentation (UAX #29) breaks between ideographs and other letters.
//! Punctuation (apostrophes, hyphens, dots) separates words: `europe`
//! matches "l'Europe", `covid` matches "covid-19".

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::borrow::Cow;
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::query::{Field, Query, Term};
use crate::model::Story;
use crate::model::text::html_text;

/// Fields that have their own text (`text` is three of them).
const STORED: [Field; 8] =
    [Field::Title, Field::Summary, Field::Content, Field::Author, Field::Category, Field::Source, Field::Link, Field::Lang];

/// Separates the items of a list field (authors, categories): not a word
/// character and not whitespace, so a phrase never spans two items.
const ITEM_SEPARATOR: char = '\u{1F}';

fn field_mask(field: Field) -> u16 {
    match field {
        Field::Text => 0b111,
        f => 1 << STORED.iter().position(|s| *s == f).expect("stored field"),
    }
}

/// Letters of scripts written without spaces between words.
fn spaceless(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF          // Thai, Lao
        | 0x1000..=0x109F        // Myanmar
        | 0x1780..=0x17FF        // Khmer
        | 0x3005..=0x3007        // 々 〆 〇
        | 0x3040..=0x30FF        // Hiragana, Katakana
        | 0x3100..=0x312F        // Bopomofo
        | 0x31F0..=0x31FF        // Katakana extensions
        | 0x3400..=0x4DBF        // CJK extension A
        | 0x4E00..=0x9FFF        // CJK unified ideographs
        | 0xF900..=0xFAFF        // CJK compatibility ideographs
        | 0xFF66..=0xFF9F        // halfwidth Katakana
        | 0x20000..=0x3FFFF) // CJK extensions B onwards
}

/// A character that continues a word on either side of it.
fn joins(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !spaceless(c)
}

/// Lowercases `s` (Unicode), collapses whitespace runs to one space, and
/// with `fold` strips accents from Latin, Greek and Cyrillic letters
/// (`Köln` → `koln`, `ß` → `ss`; Japanese voicing marks are kept).
pub fn normalize(s: &str, fold: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Runs of ASCII outside white space are most of any text: copied
        // whole (lowercased where needed), not char by char.
        if bytes[i].is_ascii() && !is_ascii_space(bytes[i]) {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii() && !is_ascii_space(bytes[i]) {
                i += 1;
            }
            if space {
                out.push(' ');
                space = false;
            }
            // Copied whole, then lowercased in place: a memcpy and a
            // byte loop, not a char-by-char push.
            let at = out.len();
            out.push_str(&s[start..i]);
            out[at..].make_ascii_lowercase();
            continue;
        }
        let c = s[i..].chars().next().expect("i is on a char boundary");
        i += c.len_utf8();
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if fold {
            c.to_lowercase().for_each(|l| fold_char(l, &mut out));
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// ASCII white space as `char::is_whitespace` sees it (tab to carriage
/// return, and space).
fn is_ascii_space(b: u8) -> bool {
    b == b' ' || (0x09..=0x0D).contains(&b)
}

fn fold_char(c: char, out: &mut String) {
    match c {
        'ß' => out.push_str("ss"),
        'æ' => out.push_str("ae"),
        'œ' => out.push_str("oe"),
        'þ' => out.push_str("th"),
        'ø' => out.push('o'),
        'ł' => out.push('l'),
        'đ' | 'ð' => out.push('d'),
        'ı' => out.push('i'),
        // Latin, Greek, Cyrillic and Latin Extended Additional.
        c if (c as u32) < 0x0530 || (0x1E00..=0x1FFF).contains(&(c as u32)) => {
            std::iter::once(c).nfd().filter(|d| !is_combining_mark(*d)).for_each(|d| out.push(d))
        }
        c => out.push(c),
    }
}

/// A story's fields, prepared once for every query that looks at it.
pub struct Prepared<'a> {
    /// Per stored field: normalized text (what words and phrases match).
    norm: [String; 8],
    /// Per stored field: the text as written (what regexes match).
    orig: [Cow<'a, str>; 8],
}

impl<'a> Prepared<'a> {
    /// Every field of `story`; `lang` is the story's language (see
    /// [`super::TopicRules`]).
    pub fn new(story: &'a Story, lang: &'a str, fold: bool) -> Prepared<'a> {
        Prepared::fields(story, lang, fold, u16::MAX)
    }

    /// Only the fields in `mask` (a bit per [`STORED`] field; the others
    /// are left empty): no query looks at them, so nothing is spent on
    /// them.
    fn fields(story: &'a Story, lang: &'a str, fold: bool, mask: u16) -> Prepared<'a> {
        let wanted = |field: Field| mask & field_mask(field) != 0;
        // Whitespace is collapsed by `normalize`: no need to do it twice.
        let content = if wanted(Field::Content) { html_text(&story.content) } else { String::new() };
        let list = |field: Field, items: &[String]| {
            if !wanted(field) {
                return (String::new(), Cow::Borrowed(""));
            }
            let norm: Vec<String> = items.iter().map(|i| normalize(i, fold)).collect();
            (norm.join(&ITEM_SEPARATOR.to_string()), Cow::Owned(items.join("\n")))
        };
        let (authors, authors_orig) = list(Field::Author, &story.authors);
        let (categories, categories_orig) = list(Field::Category, &story.categories);
        let summary = story.summary.as_deref().unwrap_or("");
        let link = story.link.as_deref().unwrap_or("");
        let norm = |field: Field, text: &str| if wanted(field) { normalize(text, fold) } else { String::new() };
        Prepared {
            norm: [
                norm(Field::Title, &story.title),
                norm(Field::Summary, summary),
                norm(Field::Content, &content),
                authors,
                categories,
                norm(Field::Source, &story.source),
                if wanted(Field::Link) { link.to_lowercase() } else { String::new() },
                if wanted(Field::Lang) { lang.to_lowercase() } else { String::new() },
            ],
            orig: [
                Cow::Borrowed(&story.title),
                Cow::Borrowed(summary),
                Cow::Owned(content),
                authors_orig,
                categories_orig,
                Cow::Borrowed(&story.source),
                Cow::Borrowed(link),
                Cow::Borrowed(lang),
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    /// Whole words at both ends.
    Word,
    /// A whole word at the start only.
    Prefix,
    /// Anywhere (`link:`).
    Substring,
}

/// A compiled query: the tree over literal and regex ids.
#[derive(Debug, Clone)]
enum Node {
    Lit {
        id: usize,
        fields: u16,
        label: usize,
    },
    Re {
        id: usize,
        fields: u16,
        label: usize,
    },
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    /// A term with nothing to look for once normalized.
    Never,
}

/// A handle on one query compiled into a [`QuerySet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryId(usize);

/// Why a query matched: the term as written and the field it was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub term: String,
    pub field: Field,
}

/// Builds a [`QuerySet`].
#[derive(Default)]
pub struct QuerySetBuilder {
    fold: bool,
    /// Every field some term looks at.
    used: u16,
    literals: Vec<(String, Mode)>,
    index: HashMap<(String, Mode), usize>,
    regexes: Vec<regex::Regex>,
    labels: Vec<String>,
    queries: Vec<Node>,
}

impl QuerySetBuilder {
    pub fn new(fold_accents: bool) -> QuerySetBuilder {
        QuerySetBuilder { fold: fold_accents, ..Default::default() }
    }

    /// Adds a parsed query.
    pub fn add(&mut self, query: &Query) -> QueryId {
        let node = self.node(query);
        self.queries.push(node);
        QueryId(self.queries.len() - 1)
    }

    /// Adds "any of these words or phrases, in the text" (topic keywords).
    pub fn add_any_words(&mut self, words: &[String]) -> QueryId {
        let parts = words.iter().map(|w| self.term(Field::Text, &Term::Words(w.clone()))).collect();
        self.queries.push(Node::Or(parts));
        QueryId(self.queries.len() - 1)
    }

    fn node(&mut self, query: &Query) -> Node {
        match query {
            Query::Term { field, term, .. } => self.term(*field, term),
            Query::Not(q) => Node::Not(Box::new(self.node(q))),
            Query::And(parts) => Node::And(parts.iter().map(|p| self.node(p)).collect()),
            Query::Or(parts) => Node::Or(parts.iter().map(|p| self.node(p)).collect()),
        }
    }

    fn term(&mut self, field: Field, term: &Term) -> Node {
        let fields = field_mask(field);
        self.used |= fields;
        self.labels.push(match field {
            Field::Text => term.to_string(),
            f => format!("{}:{term}", f.name()),
        });
        let label = self.labels.len() - 1;
        let (text, mode) = match term {
            Term::Regex(re) => {
                self.regexes.push(re.clone());
                return Node::Re { id: self.regexes.len() - 1, fields, label };
            }
            Term::Words(w) if field == Field::Link => (w.to_lowercase(), Mode::Substring),
            Term::Prefix(p) if field == Field::Link => (p.to_lowercase(), Mode::Substring),
            Term::Words(w) => (normalize(&w.nfc().collect::<String>(), self.fold), Mode::Word),
            Term::Prefix(p) => (normalize(&p.nfc().collect::<String>(), self.fold), Mode::Prefix),
        };
        if text.is_empty() {
            return Node::Never;
        }
        let next = self.literals.len();
        let id = *self.index.entry((text.clone(), mode)).or_insert(next);
        if id == next {
            self.literals.push((text, mode));
        }
        Node::Lit { id, fields, label }
    }

    pub fn build(self) -> QuerySet {
        let automaton = (!self.literals.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(self.literals.iter().map(|(t, _)| t))
                .expect("literal patterns always compile")
        });
        let literals = self
            .literals
            .iter()
            .map(|(t, mode)| {
                let (first, last) = (t.chars().next().is_some_and(joins), t.chars().next_back().is_some_and(joins));
                match mode {
                    Mode::Word => (first, last),
                    Mode::Prefix => (first, false),
                    Mode::Substring => (false, false),
                }
            })
            .collect();
        QuerySet {
            fold: self.fold,
            used: self.used,
            automaton,
            literals,
            regexes: self.regexes,
            labels: self.labels,
            queries: self.queries,
        }
    }
}

/// Queries compiled together, to be matched against prepared stories.
#[derive(Debug)]
pub struct QuerySet {
    fold: bool,
    /// Every field some term looks at (only these are prepared).
    used: u16,
    automaton: Option<AhoCorasick>,
    /// Per literal: whether a word boundary is needed before and after it.
    literals: Vec<(bool, bool)>,
    regexes: Vec<regex::Regex>,
    labels: Vec<String>,
    queries: Vec<Node>,
}

/// What one story's scan found: per literal and per regex, a bit per
/// stored field.
pub struct Scan<'a> {
    prepared: Prepared<'a>,
    literal_hits: Vec<u16>,
    regex_checked: Vec<u16>,
    regex_hits: Vec<u16>,
}

impl QuerySet {
    pub fn fold_accents(&self) -> bool {
        self.fold
    }

    /// `story`'s fields that these queries look at, prepared for [`QuerySet::scan`].
    pub fn prepare<'a>(&self, story: &'a Story, lang: &'a str) -> Prepared<'a> {
        Prepared::fields(story, lang, self.fold, self.used)
    }

    /// Runs every literal over every field of `prepared` once.
    pub fn scan<'a>(&self, prepared: Prepared<'a>) -> Scan<'a> {
        let mut literal_hits = vec![0u16; self.literals.len()];
        if let Some(ac) = &self.automaton {
            for (slot, text) in prepared.norm.iter().enumerate() {
                for m in ac.find_overlapping_iter(text.as_str()) {
                    let id = m.pattern().as_usize();
                    let bit = 1 << slot;
                    if literal_hits[id] & bit != 0 {
                        continue;
                    }
                    let (before, after) = self.literals[id];
                    let before_ok = !before || !text[..m.start()].chars().next_back().is_some_and(joins);
                    let after_ok = !after || !text[m.end()..].chars().next().is_some_and(joins);
                    if before_ok && after_ok {
                        literal_hits[id] |= bit;
                    }
                }
            }
        }
        let n = self.regexes.len();
        Scan { prepared, literal_hits, regex_checked: vec![0; n], regex_hits: vec![0; n] }
    }

    /// Whether query `id` matches the scanned story.
    pub fn matches(&self, id: QueryId, scan: &mut Scan<'_>) -> bool {
        self.eval(&self.queries[id.0], scan, None)
    }

    /// [`QuerySet::matches`], also telling which terms matched where (for
    /// `wirefeed explain`): the terms of one matching branch of each OR,
    /// of every part of an AND; none under a NOT.
    pub fn explain(&self, id: QueryId, scan: &mut Scan<'_>) -> Option<Vec<Hit>> {
        let mut hits = Vec::new();
        self.eval(&self.queries[id.0], scan, Some(&mut hits)).then_some(hits)
    }

    fn eval(&self, node: &Node, scan: &mut Scan<'_>, mut why: Option<&mut Vec<Hit>>) -> bool {
        let found = match node {
            Node::Never => 0,
            Node::Lit { id, fields, .. } => scan.literal_hits[*id] & fields,
            Node::Re { id, fields, .. } => {
                let unchecked = fields & !scan.regex_checked[*id];
                for slot in 0..STORED.len() {
                    if unchecked & (1 << slot) != 0 && self.regexes[*id].is_match(&scan.prepared.orig[slot]) {
                        scan.regex_hits[*id] |= 1 << slot;
                    }
                }
                scan.regex_checked[*id] |= unchecked;
                scan.regex_hits[*id] & fields
            }
            Node::Not(inner) => return !self.eval(inner, scan, None),
            Node::And(parts) => {
                let mark = why.as_ref().map_or(0, |w| w.len());
                for p in parts {
                    if !self.eval(p, scan, why.as_deref_mut()) {
                        if let Some(w) = why {
                            w.truncate(mark);
                        }
                        return false;
                    }
                }
                return true;
            }
            Node::Or(parts) => return parts.iter().any(|p| self.eval(p, scan, why.as_deref_mut())),
        };
        if let (Some(why), Node::Lit { label, .. } | Node::Re { label, .. }) = (why, node)
            && found != 0
        {
            let slot = found.trailing_zeros() as usize;
            why.push(Hit { term: self.labels[*label].clone(), field: STORED[slot] });
        }
        found != 0
    }
}

#[cfg(test)]
mod normalize_tests {
    use super::normalize;

    /// The plain definition the fast path must agree with.
    fn reference(s: &str, fold: bool) -> String {
        let mut out = String::new();
        for word in s.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            for c in word.chars() {
                match fold {
                    true => c.to_lowercase().for_each(|l| super::fold_char(l, &mut out)),
                    false => out.extend(c.to_lowercase()),
                }
            }
        }
        out
    }

    #[test]
    fn fast_path_agrees_with_the_definition() {
        let cases = [
            "Plain ASCII words",
            "  Leading\tand\u{B}trailing \n ",
            "Mixed Köln and ÉCOLE, ß and İstanbul",
            "東京で大雨 Tokyo\u{3000}RAIN",
            "a\u{A0}b\u{2003}c",
            "",
            "UPPER-case_with.punct!",
        ];
        for case in cases {
            for fold in [false, true] {
                assert_eq!(normalize(case, fold), reference(case, fold), "{case:?} fold={fold}");
            }
        }
    }
}
