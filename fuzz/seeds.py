#!/usr/bin/env python3
"""Builds the seed corpus of every fuzz target into fuzz/corpus/TARGET/.

Seeds come from the repository (fixtures/, the tests' and unit tests'
inline documents), from the shared feedparser corpus in
$WIREFEED_SHARED/corpus/feedparser (default ../shared beside the
repository; BSD-2, read where it lies, never copied into git), and from
fuzz/regressions/TARGET/. Files are named by the hash of their bytes, so
running this again adds nothing twice and keeps what the fuzzer found.

Usage: fuzz/seeds.py [TARGET...]   (default: every target)

The corpus root is $FUZZ_CORPUS when set (e.g. /work/fuzz-corpus, outside
the repository, so that long runs carry on across worktrees and sessions),
fuzz/corpus otherwise.
"""

import hashlib
import html
import os
import re
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
SHARED = Path(os.environ.get("WIREFEED_SHARED", REPO.parent / "shared"))
FEEDPARSER = SHARED / "corpus" / "feedparser"
TARGETS = ["feed", "sanitize", "wire", "markdown", "opml", "config", "query", "serve_path"]
MAX_SEED = 64 * 1024
CORPUS = Path(os.environ.get("FUZZ_CORPUS") or FUZZ / "corpus")


def files(root, *suffixes):
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and (not suffixes or p.suffix in suffixes))


def rust_sources():
    return files(REPO / "src", ".rs") + files(REPO / "tests", ".rs")


def raw_strings(text):
    """Rust string literals: r#"…"#, r"…" and plain "…" (escapes decoded)."""
    for m in re.finditer(r'r(#+)"(.*?)"\1', text, re.S):
        yield m.group(2)
    for m in re.finditer(r'(?<![#\w])"((?:[^"\\\n]|\\.){1,4000})"', text):
        s = m.group(1)
        try:
            yield bytes(s, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
        except (UnicodeDecodeError, UnicodeEncodeError):
            yield s


def feed_docs():
    """(name, bytes) of every feed document we have."""
    for p in files(REPO / "fixtures" / "feeds") + files(REPO / "fixtures" / "conformance" / "feedparser") + files(FEEDPARSER):
        if p.name == "LICENSE" or p.stat().st_size > MAX_SEED:
            continue
        yield p.name, p.read_bytes()
    for text in (p.read_text(errors="replace") for p in rust_sources()):
        for s in raw_strings(text):
            if re.match(r"\s*(<\?xml|<rss|<feed|<rdf|\{\s*\"version\")", s):
                yield "inline", s.encode()


def seeds(target):
    if target == "feed":
        for i, (name, doc) in enumerate(feed_docs()):
            selector = 0x10 | (0x09 if doc.lstrip().startswith(b"{") else i % 16)
            yield bytes([selector]) + doc
            if i % 7 == 0:
                yield bytes([i % 16]) + doc
    elif target == "sanitize":
        tag = re.compile(rb"<(description|content|summary|content:encoded|subtitle|title|info|tagline)\b[^>]*>(.*?)</\1>", re.S)
        seen = set()
        for i, (_, doc) in enumerate(feed_docs()):
            for m in tag.finditer(doc):
                body = m.group(2).strip()
                if body.startswith(b"<![CDATA["):
                    body = body[9:].rsplit(b"]]>", 1)[0]
                elif b"&lt;" in body:
                    body = html.unescape(body.decode("utf-8", "replace")).encode()
                if b"<" in body and body not in seen and len(seen) < 1500:
                    seen.add(body)
                    yield bytes([i % 16]) + body + b"\0summary <b>x</b>\0Title\0/story\0img.jpg\0a.mp3"
    elif target == "wire":
        for p in files(REPO / "fixtures" / "stories", ".txt"):
            yield p.read_bytes()
        for text in (p.read_text(errors="replace") for p in rust_sources()):
            for s in raw_strings(text):
                if "\nTT\n" in s or s.startswith("TT\n"):
                    yield s.encode()
    elif target == "markdown":
        for p in files(REPO / "fixtures" / "stories", ".md"):
            yield p.read_bytes()
        for text in (p.read_text(errors="replace") for p in rust_sources()):
            for s in raw_strings(text):
                if s.startswith(("+++\n", "---\n", "# ")):
                    yield s.encode()
    elif target == "opml":
        for text in (p.read_text(errors="replace") for p in rust_sources()):
            for s in raw_strings(text):
                if "<opml" in s:
                    yield s.encode()
        yield (b'<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="A &amp; B">'
               b'<outline text="x" xmlUrl="https://a.example/f" category="/x/y,/z"/></outline></body></opml>')
    elif target == "config":
        for p in [REPO / "wirefeed.toml"] + files(REPO / "fixtures", ".toml"):
            if p.is_file():
                yield p.read_bytes()
        for text in (p.read_text(errors="replace") for p in rust_sources()):
            for s in raw_strings(text):
                if "[publish]" in s:
                    yield s.encode()
    elif target == "query":
        for text in (p.read_text(errors="replace") for p in rust_sources()):
            for m in re.finditer(r"(?:query|exclude|include) = '([^'\n]*)'", text):
                yield m.group(1).encode()
            if "query" in text:
                for m in re.finditer(r'\("[^"\n]*", ("(?:[^"\\\n]|\\.)*"|r#"[^\n]*?"#|r"[^"\n]*")', text):
                    lit = m.group(1)
                    if lit.startswith("r#"):
                        yield lit[3:-2].encode()
                    elif lit.startswith("r"):
                        yield lit[2:-1].encode()
                    else:
                        yield lit[1:-1].replace('\\"', '"').encode()
        yield b'title:(gaza OR "west bank") -category:sport\0Gaza talks\0<p>west bank</p>'
    elif target == "serve_path":
        for text in (p.read_text(errors="replace") for p in files(REPO / "src" / "operate", ".rs") + files(REPO / "tests", ".rs")):
            for m in re.finditer(r'"(/[^"\s]*)"', text):
                yield m.group(1).encode()
    reg = FUZZ / "regressions" / target
    for p in files(reg):
        yield p.read_bytes()


def main():
    targets = sys.argv[1:] or TARGETS
    for target in targets:
        if target not in TARGETS:
            sys.exit(f"unknown target {target}; targets: {' '.join(TARGETS)}")
        out = CORPUS / target
        out.mkdir(parents=True, exist_ok=True)
        n = 0
        for data in seeds(target):
            if not data or len(data) > MAX_SEED:
                continue
            path = out / hashlib.sha1(data).hexdigest()
            if not path.exists():
                path.write_bytes(data)
                n += 1
        total = sum(1 for _ in out.iterdir())
        note = "" if FEEDPARSER.is_dir() else f" (no shared corpus at {FEEDPARSER})"
        print(f"seeds: {target}: {n} new, {total} in {out}{note}")


if __name__ == "__main__":
    main()
