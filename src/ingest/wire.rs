//! The newsroom's plain-text wire export.
//!
//! A file holds several stories. Each opens with a header block that the
//! export repeats: headline, a caption line (twice), a masthead marker
//! `TT`, then headline and caption again; body paragraphs follow, one per
//! blank-line-separated block. Exports are sloppy, so nothing here counts
//! repeats or blank lines exactly: a story starts wherever the lines look
//! like a header (a line that is repeated or followed by the marker within
//! the next few lines), or after two or more blank lines when the next
//! line reads like a headline.

/// The masthead marker line of the export.
const MARKER: &str = "TT";
/// How many non-blank lines after a headline may still belong to its header.
const HEADER_WINDOW: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireStory {
    /// 1-based line of the headline, for error messages.
    pub line: usize,
    pub headline: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub paragraphs: Vec<String>,
}

/// A non-blank line with its position and the blank lines before it.
struct Line<'a> {
    number: usize,
    text: &'a str,
    blanks_before: usize,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut blanks = 0;
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() {
            blanks += 1;
        } else {
            out.push(Line { number: i + 1, text: t, blanks_before: if out.is_empty() { 2 } else { blanks } });
            blanks = 0;
        }
    }
    out
}

/// Splits `text` into stories. Never fails: text that is not in the wire
/// format still comes out as stories, one per detected headline.
pub fn parse(text: &str) -> Vec<WireStory> {
    let lines = lines(text);
    let mut stories = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (story, next) = parse_story(&lines, i);
        stories.push(story);
        i = next;
    }
    stories
}

/// A trailing parenthesized credit: "Caption text (AP)" → ("Caption text", "AP").
pub fn split_credit(caption: &str) -> (String, Option<String>) {
    let c = caption.trim();
    if c.ends_with(')')
        && let Some(open) = c.rfind('(')
    {
        let credit = c[open + 1..c.len() - 1].trim();
        let text = c[..open].trim();
        if !credit.is_empty() && !text.is_empty() && !credit.contains(['(', ')']) {
            return (text.to_owned(), Some(credit.to_owned()));
        }
    }
    (c.to_owned(), None)
}

fn looks_like_caption(s: &str) -> bool {
    split_credit(s).1.is_some()
}

fn parse_story(lines: &[Line<'_>], start: usize) -> (WireStory, usize) {
    let headline = lines[start].text;
    let mut caption: Option<&str> = None;
    let mut i = start + 1;
    // Header: repeats of the headline, the marker, and caption lines
    // (repeated, or carrying a credit), in any order and number.
    while i < lines.len() {
        let t = lines[i].text;
        if t == headline || t == MARKER || caption == Some(t) {
            i += 1;
        } else if caption.is_none()
            && i - start <= HEADER_WINDOW
            && (looks_like_caption(t) || repeats_soon(lines, i))
            && in_header(lines, start, i)
        {
            caption = Some(t);
            i += 1;
        } else {
            break;
        }
    }
    let mut paragraphs = Vec::new();
    while i < lines.len() && !starts_story(lines, i) {
        if lines[i].text != MARKER {
            paragraphs.push(lines[i].text.to_owned());
        }
        i += 1;
    }
    let (caption, credit) = match caption.map(split_credit) {
        Some((c, cr)) => (Some(c), cr),
        None => (None, None),
    };
    (WireStory { line: lines[start].number, headline: headline.to_owned(), caption, credit, paragraphs }, i)
}

/// True when line `i` appears again within the header window.
fn repeats_soon(lines: &[Line<'_>], i: usize) -> bool {
    lines[i + 1..].iter().take(HEADER_WINDOW).any(|l| l.text == lines[i].text)
}

/// A caption candidate belongs to the header only if the header continues
/// after it (marker, headline repeat, or the caption's own repeat), or it
/// sits right under the headline.
fn in_header(lines: &[Line<'_>], start: usize, i: usize) -> bool {
    let headline = lines[start].text;
    i == start + 1 || lines[i + 1..].iter().take(HEADER_WINDOW).any(|l| l.text == MARKER || l.text == headline || l.text == lines[i].text)
}

/// Does a new story begin at line `i`?
fn starts_story(lines: &[Line<'_>], i: usize) -> bool {
    let t = lines[i].text;
    if t == MARKER || !looks_like_headline(t) || (i > 0 && lines[i - 1].text == t) {
        return false;
    }
    // Strong evidence, whatever the blank lines say: the header pattern.
    // Weak evidence: two or more blank lines before a line that does not
    // end like a sentence (body paragraphs do; headlines rarely).
    header_follows(lines, i) || (lines[i].blanks_before >= 2 && !ends_sentence(t))
}

/// After a headline come only caption lines until the marker or the
/// headline's own repeat.
fn header_follows(lines: &[Line<'_>], i: usize) -> bool {
    let t = lines[i].text;
    for (k, l) in lines[i + 1..].iter().take(HEADER_WINDOW).enumerate() {
        if l.text == MARKER || (l.text == t && k > 0) {
            return true;
        }
        let duplicated = lines.get(i + 2 + k).is_some_and(|next| next.text == l.text) || (k > 0 && lines[i + k].text == l.text);
        if !(looks_like_caption(l.text) || duplicated) {
            return false;
        }
    }
    false
}

/// Headlines are short and carry no photo credit.
fn looks_like_headline(t: &str) -> bool {
    t.chars().count() <= 200 && !looks_like_caption(t)
}

fn ends_sentence(t: &str) -> bool {
    t.ends_with(['.', '!', '?', '"', '”', '’', ':', ';', ','])
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "Headline One\n\nA photo of things (AP)\nA photo of things (AP)\nTT\n\nHeadline One\n\nA photo of things (AP)\nA photo of things (AP)\n\nFirst paragraph.\n\nSecond paragraph.\n\n\n\nHeadline Two\n\nCaption two (Reuters)\nCaption two (Reuters)\nTT\n\nHeadline Two\n\nCaption two (Reuters)\nCaption two (Reuters)\n\nOnly paragraph.\n";

    #[test]
    fn full_header_is_read_once() {
        let s = parse(FULL);
        assert_eq!(s.len(), 2, "{s:#?}");
        assert_eq!(s[0].headline, "Headline One");
        assert_eq!(s[0].caption.as_deref(), Some("A photo of things"));
        assert_eq!(s[0].credit.as_deref(), Some("AP"));
        assert_eq!(s[0].paragraphs, vec!["First paragraph.", "Second paragraph."]);
        assert_eq!(s[1].line, 18);
        assert_eq!(s[1].credit.as_deref(), Some("Reuters"));
        assert_eq!(s[1].paragraphs, vec!["Only paragraph."]);
    }

    #[test]
    fn stories_separated_by_one_blank_line_still_split_on_the_header_pattern() {
        let s = parse(&FULL.replace("\n\n\n\n", "\n\n"));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].paragraphs.len(), 2);
    }

    #[test]
    fn no_caption_one_caption_and_no_marker() {
        let text = "No Caption Here\nTT\nNo Caption Here\n\nBody a.\n\n\nSingle Caption\n\nOne copy (AFP)\n\nBody b.\n\n\nNo Marker\nCap x (X)\nCap x (X)\nNo Marker\nCap x (X)\nCap x (X)\n\nBody c.\n";
        let s = parse(text);
        assert_eq!(s.len(), 3, "{s:#?}");
        assert_eq!((s[0].caption.as_deref(), s[0].paragraphs.as_slice()), (None, &["Body a.".to_owned()][..]));
        assert_eq!((s[1].caption.as_deref(), s[1].credit.as_deref()), (Some("One copy"), Some("AFP")));
        assert_eq!(s[1].paragraphs, vec!["Body b."]);
        assert_eq!((s[2].caption.as_deref(), s[2].paragraphs.len()), (Some("Cap x"), 1));
    }

    #[test]
    fn extra_blank_lines_inside_a_body_do_not_split_it() {
        let text = "Headline\nTT\nHeadline\n\nOne sentence.\n\n\n\nAnother sentence.\n";
        let s = parse(text);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].paragraphs.len(), 2);
    }

    #[test]
    fn split_credit_needs_a_trailing_parenthesis() {
        assert_eq!(split_credit("A (b) c"), ("A (b) c".into(), None));
        assert_eq!(split_credit("Leader (Ali) spoke (Reuters)"), ("Leader (Ali) spoke".into(), Some("Reuters".into())));
    }
}
