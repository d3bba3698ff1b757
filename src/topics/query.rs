//! The query language of `[[topics]] query`/`exclude` and `[[sources]]
//! include`/`exclude`: its syntax tree and parser.
//!
//! ```text
//! query   = or
//! or      = and { "OR" and }
//! and     = unary { ["AND"] unary }        adjacent terms mean AND
//! unary   = ("NOT" | "-") unary | [field ":"] primary
//! primary = "(" or ")" | word | prefix* | "a phrase" | /regex/
//! ```
//!
//! Precedence is NOT > AND > OR. Operators are written in capitals (a
//! lowercase `or` is a word). A field applies to one term or to a
//! parenthesised group, whose own fields override it. How terms match is
//! [`super::matcher`]'s concern; this module only reads the text.

use std::fmt;

/// What part of a story a term is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Title,
    Summary,
    /// The text of the sanitized HTML content (tags are not text).
    Content,
    /// Title, summary and content: the default.
    Text,
    Author,
    Category,
    /// The source's name.
    Source,
    /// The story's URL (terms match as substrings).
    Link,
    /// The story's language (its source's `language`, else the site's).
    Lang,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Title,
        Field::Summary,
        Field::Content,
        Field::Text,
        Field::Author,
        Field::Category,
        Field::Source,
        Field::Link,
        Field::Lang,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
            Field::Text => "text",
            Field::Author => "author",
            Field::Category => "category",
            Field::Source => "source",
            Field::Link => "link",
            Field::Lang => "lang",
        }
    }

    fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// One thing to look for.
#[derive(Debug, Clone)]
pub enum Term {
    /// A word or a phrase (`"west bank"`), as written.
    Words(String),
    /// Words starting with this (`ceasefire*` is written `ceasefire*`).
    Prefix(String),
    /// A regular expression (Rust `regex` syntax), compiled
    /// case-insensitively.
    Regex(regex::Regex),
}

/// A parsed query.
#[derive(Debug, Clone)]
pub enum Query {
    Term {
        field: Field,
        term: Term,
        /// Where the term starts in the query text (1-based, in characters).
        column: usize,
    },
    Not(Box<Query>),
    And(Vec<Query>),
    Or(Vec<Query>),
}

/// A syntax error: where (1-based column, in characters) and what was
/// expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl Term {
    /// Whether the term, printed, reads back as itself where no field
    /// precedes it.
    fn reads_alone(&self) -> bool {
        let (Term::Words(w) | Term::Prefix(w)) = self else { return true };
        let field_like = w.find(':').is_some_and(|colon| colon > 0 && w[..colon].chars().all(|c| c.is_ascii_alphabetic()));
        let quoted = matches!(self, Term::Words(_)) && self.to_string().starts_with('"');
        let operator = matches!(self, Term::Words(_)) && matches!(w.as_str(), "AND" | "OR" | "NOT");
        quoted || !(field_like || operator || w.starts_with('-'))
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Quoted unless it reads back as this one word (not a group,
            // a phrase, a regex or a prefix).
            Term::Words(w)
                if w.is_empty()
                    || w.contains(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"'))
                    || w.starts_with('/')
                    || w.ends_with('*') =>
            {
                write!(f, "\"{w}\"")
            }
            Term::Words(w) => f.write_str(w),
            Term::Prefix(p) => write!(f, "{p}*"),
            Term::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

impl fmt::Display for Query {
    /// The query in its own syntax, fully parenthesised where it nests.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, parts: &[Query], op: &str| {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                match p {
                    Query::And(_) | Query::Or(_) => write!(f, "({p})")?,
                    _ => write!(f, "{p}")?,
                }
            }
            Ok(())
        };
        match self {
            // A term only a field's value can be (an operator word, a
            // leading `-`, `name:`) keeps its `text:`.
            Query::Term { field: Field::Text, term, .. } if !term.reads_alone() => write!(f, "text:{term}"),
            Query::Term { field: Field::Text, term, .. } => write!(f, "{term}"),
            Query::Term { field, term, .. } => write!(f, "{}:{term}", field.name()),
            Query::Not(q) => match **q {
                Query::And(_) | Query::Or(_) => write!(f, "NOT ({q})"),
                _ => write!(f, "NOT {q}"),
            },
            Query::And(parts) => join(f, parts, "AND"),
            Query::Or(parts) => join(f, parts, "OR"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    Minus,
    Field(Field),
    Word(String),
    Phrase(String),
    Prefix(String),
    Regex(String),
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Open => "'('".into(),
            Tok::Close => "')'".into(),
            Tok::And => "'AND'".into(),
            Tok::Or => "'OR'".into(),
            Tok::Not => "'NOT'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Field(f) => format!("'{}:'", f.name()),
            Tok::Word(w) | Tok::Prefix(w) => format!("'{w}'"),
            Tok::Phrase(p) => format!("\"{p}\""),
            Tok::Regex(r) => format!("/{r}/"),
            Tok::End => "the end of the query".into(),
        }
    }
}

fn err<T>(column: usize, message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError { column, message: message.into() })
}

/// Splits a query into tokens, each with its 1-based column.
fn lex(text: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<(Tok, usize)> = Vec::new();
    let mut i = 0;
    // Right after `field:` (no space between), a token is the field's
    // value even if it reads like an operator or a field (`link:http://…`).
    let mut value_at = None;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let after_field = value_at == Some(i);
        match c {
            '(' => {
                out.push((Tok::Open, column));
                i += 1;
            }
            ')' => {
                out.push((Tok::Close, column));
                i += 1;
            }
            '"' | '/' => {
                let (body, end) = delimited(&chars, i)?;
                if body.trim().is_empty() {
                    return err(column, if c == '"' { "empty phrase: expected words between the quotes" } else { "empty regex" });
                }
                out.push((if c == '"' { Tok::Phrase(body) } else { Tok::Regex(body) }, column));
                i = end;
            }
            '-' if !after_field => {
                match chars.get(i + 1) {
                    Some(n) if !n.is_whitespace() && *n != ')' => {}
                    _ => return err(column + 1, "expected a term or '(' after '-'"),
                }
                out.push((Tok::Minus, column));
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '(' | ')' | '"') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // `name:rest`, where name is letters only: a field, unless
                // this is the value of a field (`link:https://…`).
                if !after_field
                    && let Some(colon) = word.find(':')
                    && colon > 0
                    && word[..colon].chars().all(|c| c.is_ascii_alphabetic())
                {
                    let Some(field) = Field::parse(&word[..colon]) else {
                        let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                        return err(column, format!("unknown field '{}': expected one of {}", &word[..colon], names.join(", ")));
                    };
                    out.push((Tok::Field(field), column));
                    i = start + word[..colon].chars().count() + 1;
                    value_at = Some(i);
                    continue;
                }
                let tok = match word.as_str() {
                    "AND" if !after_field => Tok::And,
                    "OR" if !after_field => Tok::Or,
                    "NOT" if !after_field => Tok::Not,
                    "*" => return err(column, "expected a word before '*'"),
                    w if w.len() > 1 && w.ends_with('*') => Tok::Prefix(w[..w.len() - 1].to_owned()),
                    _ => Tok::Word(word),
                };
                out.push((tok, column));
            }
        }
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

/// The body of a `"…"` or `/…/` starting at `start`, and the index after
/// its closing delimiter. A backslash escapes the delimiter (and, in
/// phrases, itself); in a regex other escapes are the regex's own.
fn delimited(chars: &[char], start: usize) -> Result<(String, usize), QueryError> {
    let delim = chars[start];
    let mut body = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if chars.get(i + 1) == Some(&delim) => {
                body.push(delim);
                i += 2;
            }
            '\\' if delim == '"' && chars.get(i + 1) == Some(&'\\') => {
                body.push('\\');
                i += 2;
            }
            c if c == delim => return Ok((body, i + 1)),
            c => {
                body.push(c);
                i += 1;
            }
        }
    }
    let what = if delim == '"' { "phrase" } else { "regex" };
    err(chars.len() + 1, format!("unterminated {what}: expected a closing '{delim}' for the one at column {}", start + 1))
}

/// Deepest nesting of groups and `NOT`/`-` a query may have. The parser,
/// the matcher and printing all recurse once per level: without a cap,
/// a config's `((((…` (found by fuzzing the config) overflowed the stack.
/// Real queries nest a few levels.
pub const MAX_DEPTH: usize = 64;

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    /// Groups and negations open around the current token.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn column(&self) -> usize {
        self.toks[self.pos].1
    }

    /// Enters one more level of nesting at `column`, or fails past
    /// [`MAX_DEPTH`].
    fn deeper(&mut self, column: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(column, format!("nested too deeply: at most {MAX_DEPTH} levels of '(' and NOT"));
        }
        Ok(())
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn or(&mut self, field: Field) -> Result<Query, QueryError> {
        let mut parts = vec![self.and(field)?];
        while *self.peek() == Tok::Or {
            self.next();
            parts.push(self.and(field)?);
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Query::Or(parts) })
    }

    fn and(&mut self, field: Field) -> Result<Query, QueryError> {
        let mut parts = vec![self.unary(field)?];
        loop {
            match self.peek() {
                Tok::And => {
                    self.next();
                }
                Tok::Or | Tok::Close | Tok::End => break,
                _ => {}
            }
            parts.push(self.unary(field)?);
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Query::And(parts) })
    }

    fn unary(&mut self, field: Field) -> Result<Query, QueryError> {
        match self.peek() {
            Tok::Not | Tok::Minus => {
                let (_, column) = self.next();
                self.deeper(column)?;
                let inner = self.unary(field)?;
                self.depth -= 1;
                Ok(Query::Not(Box::new(inner)))
            }
            Tok::Field(f) => {
                let f = *f;
                self.next();
                if matches!(self.peek(), Tok::Not | Tok::Minus | Tok::Field(_) | Tok::Close | Tok::End | Tok::And | Tok::Or) {
                    return err(self.column(), format!("expected a term or '(' after '{}:', found {}", f.name(), self.peek().describe()));
                }
                self.primary(f)
            }
            _ => self.primary(field),
        }
    }

    fn primary(&mut self, field: Field) -> Result<Query, QueryError> {
        let (tok, column) = self.next();
        let term = match tok {
            Tok::Open => {
                if *self.peek() == Tok::Close {
                    return err(self.column(), "empty group: expected a term after '('");
                }
                self.deeper(column)?;
                let inner = self.or(field)?;
                self.depth -= 1;
                return match self.next() {
                    (Tok::Close, _) => Ok(inner),
                    (t, c) => err(c, format!("expected ')' to close the '(' at column {column}, found {}", t.describe())),
                };
            }
            Tok::Word(w) | Tok::Phrase(w) => Term::Words(w),
            Tok::Prefix(p) => Term::Prefix(p),
            Tok::Regex(r) => Term::Regex(compile_regex(&r).map_err(|message| QueryError { column, message })?),
            Tok::Close => return err(column, "unexpected ')': no '(' is open"),
            t => return err(column, format!("expected a term or '(', found {}", t.describe())),
        };
        Ok(Query::Term { field, term, column })
    }
}

/// Compiles a query's regex (case-insensitive); the error is the regex
/// crate's own message, on one line.
fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern).case_insensitive(true).size_limit(10 << 20).build().map_err(|e| {
        let text = e.to_string();
        let reason = text.lines().find_map(|l| l.strip_prefix("error: ")).unwrap_or(text.lines().last().unwrap_or(""));
        format!("invalid regex /{pattern}/: {}", reason.trim())
    })
}

/// Parses a query. Errors name the column (1-based, in characters) and
/// what was expected there.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    if text.trim().is_empty() {
        return err(1, "empty query: expected a term");
    }
    let mut parser = Parser { toks: lex(text)?, pos: 0, depth: 0 };
    let query = parser.or(Field::Text)?;
    match parser.next() {
        (Tok::End, _) => Ok(query),
        (Tok::Close, c) => err(c, "unexpected ')': no '(' is open"),
        (t, c) => err(c, format!("expected an operator or the end of the query, found {}", t.describe())),
    }
}
