//! Private channels: a `[[topics]]` entry with `private = true` is served
//! only to a request with credentials: HTTP Basic (RFC 7617) for one of
//! `[serve] users` (argon2 PHC hashes), or a bearer token (RFC 6750) of
//! `[serve] tokens`. Feed readers send Basic for a URL with credentials in
//! it (`https://user:pass@host/topics/x.rss`).
//!
//! User names and tokens are compared in constant time (`subtle`), and a
//! request naming an unknown user still costs one argon2 verification, so
//! timing tells neither. Argon2 is deliberately slow and feed readers poll,
//! so a password that verified is remembered in memory (compared in
//! constant time next time): each poll costs one comparison, not one hash.

use argon2::Argon2;
use axum::http::{HeaderMap, header};
use base64::Engine;
use password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

use crate::config::{Config, ServeUser};

/// The realm named in `WWW-Authenticate`.
pub const REALM: &str = "wirefeed";

/// Who may read what.
#[derive(Debug, Default)]
pub struct Access {
    /// Slugs of the private topics.
    private: Vec<String>,
    users: Vec<ServeUser>,
    tokens: Vec<String>,
    /// Passwords that verified, by user.
    verified: Mutex<HashMap<String, Vec<u8>>>,
}

/// Credentials as a request carries them.
#[derive(Debug, PartialEq, Eq)]
enum Credentials {
    Basic { user: String, password: String },
    Bearer(String),
}

impl Access {
    pub fn new(private: Vec<String>, users: Vec<ServeUser>, tokens: Vec<String>) -> Access {
        Access { private, users, tokens, verified: Mutex::default() }
    }

    pub fn from_config(config: &Config) -> Access {
        let private = config.topics.iter().filter(|t| t.private).map(|t| t.slug.clone()).collect();
        Access::new(private, config.serve.users.clone(), config.serve.tokens.clone())
    }

    /// Private topics nobody can read (no users, no tokens).
    pub fn unreadable(&self) -> &[String] {
        if self.users.is_empty() && self.tokens.is_empty() { &self.private } else { &[] }
    }

    /// Whether `key` (a path relative to the output folder) is a file of a
    /// private channel: `topics/SLUG.rss`, `.atom`, `.json`, or anything
    /// under `topics/SLUG/`.
    pub fn is_private(&self, key: &str) -> bool {
        let Some(rest) = key.strip_prefix("topics/") else { return false };
        self.private.iter().any(|slug| rest.strip_prefix(slug.as_str()).is_some_and(|tail| tail.starts_with(['.', '/'])))
    }

    /// Whether the request's credentials are good.
    pub async fn allows(&self, headers: &HeaderMap) -> bool {
        match credentials(headers) {
            Some(Credentials::Bearer(token)) => {
                let mut ok = subtle::Choice::from(0);
                for t in &self.tokens {
                    ok |= t.as_bytes().ct_eq(token.as_bytes());
                }
                ok.into()
            }
            Some(Credentials::Basic { user, password }) => self.check_password(user, password).await,
            None => false,
        }
    }

    async fn check_password(&self, user: String, password: String) -> bool {
        let mut found = None;
        for u in &self.users {
            if bool::from(u.name.as_bytes().ct_eq(user.as_bytes())) {
                found = Some(u.password_hash.clone());
            }
        }
        if let Some(known) = self.verified.lock().unwrap_or_else(|e| e.into_inner()).get(&user)
            && found.is_some()
            && bool::from(known.ct_eq(password.as_bytes()))
        {
            return true;
        }
        // An unknown user costs a verification too.
        let hash = found.clone().unwrap_or_else(|| DUMMY.with(|d| d.clone()));
        let ok = tokio::task::spawn_blocking({
            let password = password.clone();
            move || PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false);
        let ok = ok && found.is_some();
        if ok {
            self.verified.lock().unwrap_or_else(|e| e.into_inner()).insert(user, password.into_bytes());
        }
        ok
    }
}

thread_local! {
    /// A hash no password matches, for unknown users.
    static DUMMY: String = hash_password("wirefeed: no such user").unwrap_or_default();
}

/// The `WWW-Authenticate` values of a 401: Basic always, Bearer when
/// tokens are configured.
pub fn challenges(access: &Access) -> Vec<String> {
    let mut out = vec![format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"")];
    if !access.tokens.is_empty() {
        out.push(format!("Bearer realm=\"{REALM}\""));
    }
    out
}

/// Reads `Authorization: Basic …` or `Authorization: Bearer …` (scheme
/// names are case-insensitive, RFC 9110 §11.1).
fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Credentials::Bearer(rest.to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(Credentials::Basic { user: user.to_owned(), password: password.to_owned() })
}

/// An argon2id PHC string for `password`, with a fresh random salt (the
/// argon2 crate's default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, password_hash::Error> {
    let salt = SaltString::generate(&mut password_hash::rand_core::OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// The `[[serve.users]]` entry `wirefeed passwd NAME` prints.
pub fn user_entry(name: &str, password: &str) -> Result<String, password_hash::Error> {
    let hash = hash_password(password)?;
    let name = toml_edit::Value::from(name).to_string();
    Ok(format!("[[serve.users]]\nname = {}\npassword_hash = \"{hash}\"\n", name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn credentials_are_read_from_either_scheme() {
        assert_eq!(
            credentials(&with(&basic("alice", "pa:ss word"))),
            Some(Credentials::Basic { user: "alice".into(), password: "pa:ss word".into() })
        );
        assert_eq!(credentials(&with("bearer  tok123 ")), Some(Credentials::Bearer("tok123".into())));
        for bad in ["Basic !!!", "Basic", "Digest x", &format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("nocolon"))] {
            assert_eq!(credentials(&with(bad)), None, "{bad}");
        }
        assert_eq!(credentials(&HeaderMap::new()), None);
    }

    #[test]
    fn private_paths_are_a_private_topics_files_only() {
        let access = Access::new(vec!["board".into()], vec![], vec![]);
        for (key, private) in [
            ("topics/board.rss", true),
            ("topics/board.atom", true),
            ("topics/board.json", true),
            ("topics/board/page.html", true),
            ("topics/boardroom.rss", false),
            ("topics/boar.rss", false),
            ("board.rss", false),
            ("all.rss", false),
            ("index.html", false),
        ] {
            assert_eq!(access.is_private(key), private, "{key}");
        }
    }

    #[test]
    fn passwords_and_tokens_are_checked() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let users = vec![ServeUser { name: "alice".into(), password_hash: hash }];
        let access = Access::new(vec!["board".into()], users, vec!["tok-123".into()]);
        for (auth, ok) in [
            (basic("alice", "correct horse"), true),
            // Remembered after the first success, and still checked.
            (basic("alice", "correct horse"), true),
            (basic("alice", "wrong"), false),
            (basic("alice", "correct horse "), false),
            (basic("bob", "correct horse"), false),
            (basic("Alice", "correct horse"), false),
            ("Bearer tok-123".to_owned(), true),
            ("Bearer tok-12".to_owned(), false),
            ("Bearer tok-1234".to_owned(), false),
            ("Bearer ".to_owned(), false),
        ] {
            assert_eq!(rt.block_on(access.allows(&with(&auth))), ok, "{auth}");
        }
        assert_eq!(challenges(&access).len(), 2);
        let entry: toml::Value = toml::from_str(&user_entry("a \"b\" 'c'", "pw").unwrap()).unwrap();
        assert_eq!(entry["serve"]["users"][0]["name"].as_str(), Some("a \"b\" 'c'"));
    }
}
