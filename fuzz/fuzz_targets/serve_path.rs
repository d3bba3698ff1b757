//! `serve`'s request path → file mapping. Any path gives a key inside the
//! output folder or `None`: never an absolute path, a `..` or `.`
//! component, a hidden file, a NUL or a backslash; a path ending in `/`
//! names that folder's `index.html`; and mapping is stable (the key,
//! percent-encoded again, maps to itself).
#![no_main]

use std::path::{Component, Path};
use wirefeed::operate::serve::request_key;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else { return };
    let Some(key) = request_key(path) else { return };
    assert!(!key.is_empty(), "{path:?} maps to an empty key");
    assert!(!key.contains(['\\', '\0']), "{path:?} maps to {key:?}");
    for c in Path::new(&key).components() {
        match c {
            Component::Normal(part) => {
                assert!(!part.to_string_lossy().starts_with('.'), "{path:?} maps to hidden {key:?}")
            }
            other => panic!("{path:?} maps to {key:?}, which has a {other:?} component"),
        }
    }
    assert!(key.split('/').all(|s| !s.is_empty() && !s.starts_with('.')), "{path:?} maps to {key:?}");
    if path.ends_with('/') {
        assert!(key.ends_with("index.html"), "{path:?} is a folder but maps to {key:?}");
    }
    let encoded: String = key.split('/').map(|s| encode(s)).collect::<Vec<_>>().join("/");
    assert_eq!(request_key(&format!("/{encoded}")).as_deref(), Some(key.as_str()), "{path:?} → {key:?} does not map back to itself");
});

fn encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
