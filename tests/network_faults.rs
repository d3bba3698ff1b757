//! The fetcher against servers that misbehave below HTTP: a body that
//! trickles, a connection reset mid-body, a truncated gzip stream, broken
//! chunked encoding, a TLS handshake with a server that speaks no TLS, and
//! a Content-Length that lies either way. Each is one clear line for its
//! source, and the other sources of the same build publish as usual.
//!
//! The server is raw TCP on 127.0.0.1 (one thread per connection), since
//! an HTTP library would not send these on purpose.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::Site;
use wirefeed::ingest::sources::SourceStatus;

fn feed(title: &str, items: usize) -> String {
    let items: String = (0..items)
        .map(|i| format!("<item><title>{title} story {i}</title><link>http://e.example/{title}/{i}</link><description>About {title} {i}.</description></item>"))
        .collect();
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>http://e.example/</link>{items}</channel></rss>"#
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn head(status: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut h = format!("HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// Reads the request line (byte by byte, so nothing after it is taken
/// from the socket) and returns its path.
fn request_path(s: &mut TcpStream) -> Option<String> {
    let mut line = Vec::new();
    let mut b = [0u8];
    while !line.ends_with(b"\r\n") {
        if s.read(&mut b).ok()? == 0 {
            return None;
        }
        line.push(b[0]);
    }
    String::from_utf8_lossy(&line).split(' ').nth(1).map(str::to_owned)
}

/// Reads the rest of the request head.
fn rest_of_head(s: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut b = [0u8];
    while !seen.ends_with(b"\r\n\r\n") && seen != b"\r\n" {
        match s.read(&mut b) {
            Ok(1) => seen.push(b[0]),
            _ => return,
        }
    }
}

fn respond(mut s: TcpStream) {
    let Some(path) = request_path(&mut s) else { return };
    if path != "/reset" {
        rest_of_head(&mut s);
    }
    let _ = s.set_nodelay(true);
    let body = feed(path.trim_start_matches('/'), 2).into_bytes();
    let _ = match path.as_str() {
        "/good" | "/good2" => s.write_all(&[head("200 OK", &[("Content-Length", body.len().to_string())]), body].concat()),
        "/trickle" => {
            let _ = s.write_all(&head("200 OK", &[("Content-Length", body.len().to_string())]));
            // A byte a second, until the client hangs up.
            for b in &body {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            Ok(())
        }
        "/reset" => {
            // Half the body, then close with the request's headers still
            // unread: the kernel answers that with a reset, not a FIN.
            let _ = s.write_all(&[head("200 OK", &[("Content-Length", body.len().to_string())]), body[..body.len() / 2].to_vec()].concat());
            std::thread::sleep(Duration::from_millis(200));
            return;
        }
        "/gzip-truncated" => {
            let z = gzip(&body);
            let cut = &z[..z.len() / 2];
            s.write_all(
                &[head("200 OK", &[("Content-Encoding", "gzip".into()), ("Content-Length", cut.len().to_string())]), cut.to_vec()].concat(),
            )
        }
        "/chunked-broken" => {
            let mut out = head("200 OK", &[("Transfer-Encoding", "chunked".into())]);
            out.extend_from_slice(format!("{:x}\r\n", 40).as_bytes());
            out.extend_from_slice(&body[..40]);
            out.extend_from_slice(b"\r\nzz-not-a-size\r\n");
            out.extend_from_slice(&body[40..]);
            s.write_all(&out)
        }
        // The header promises less than is sent: the body ends where it says.
        "/length-short" => s.write_all(&[head("200 OK", &[("Content-Length", (body.len() - 60).to_string())]), body].concat()),
        // The header promises more than is sent, then the connection closes.
        "/length-long" => s.write_all(&[head("200 OK", &[("Content-Length", (body.len() + 5000).to_string())]), body].concat()),
        _ => s.write_all(&head("404 Not Found", &[("Content-Length", "0".into())])),
    };
    let _ = s.flush();
}

fn raw_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || respond(s));
        }
    });
    addr
}

/// A server that answers a TLS ClientHello with plain-text garbage.
fn not_tls_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 7\r\n\r\ngarbage");
            });
        }
    });
    addr
}

fn status(report: &wirefeed::BuildReport, name: &str) -> SourceStatus {
    report.sources.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no source {name}")).status.clone()
}

#[test]
fn each_network_fault_is_one_line_for_its_source_and_the_others_publish() {
    let addr = raw_server();
    let tls = not_tls_server();
    // (source, URL, what its one line says; "" for a source that must publish)
    let cases: Vec<(&str, String, &str)> = vec![
        ("good", format!("http://{addr}/good"), ""),
        ("trickle", format!("http://{addr}/trickle"), "timed out after 2s"),
        ("reset", format!("http://{addr}/reset"), "body broken off after the headers: Connection reset by peer"),
        ("gzip-truncated", format!("http://{addr}/gzip-truncated"), "body broken off after the headers: unexpected end of file"),
        ("chunked-broken", format!("http://{addr}/chunked-broken"), "body broken off after the headers: Invalid chunk size line"),
        ("tls", format!("https://{tls}/feed"), "TLS handshake failed: received corrupt message"),
        (
            "length-long",
            format!("http://{addr}/length-long"),
            "body broken off after the headers: end of file before message length reached",
        ),
        ("good2", format!("http://{addr}/good2"), ""),
    ];
    let site = Site::new(&[]);
    let mut extra = String::from("[fetch]\ntimeout = \"2s\"\n");
    for (name, url, _) in &cases {
        extra.push_str(&format!("[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
    }
    site.write_config(&extra);
    let started = std::time::Instant::now();
    let report = wirefeed::build(&site.config()).unwrap();
    for (name, _, want) in &cases {
        match (status(&report, name), want.is_empty()) {
            (SourceStatus::Updated { new: 2, .. }, true) => {}
            (SourceStatus::Failed(msg), false) => {
                assert!(msg.contains(want), "{name}: {msg:?} lacks {want:?}");
                assert!(!msg.contains('\n'), "{name}: not one line: {msg:?}");
                assert!(msg.len() < 300, "{name}: {msg:?}");
            }
            (other, _) => panic!("{name}: expected {want:?}, got {other:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(20), "the trickle held the build for {:?}", started.elapsed());
    let all: serde_json::Value = serde_json::from_str(&site.read("feeds/all.json")).unwrap();
    let titles: Vec<&str> = all["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
    for t in ["good story 0", "good story 1", "good2 story 0", "good2 story 1"] {
        assert!(titles.contains(&t), "{t} missing from {titles:?}");
    }
}

#[test]
fn a_trickling_body_is_cut_at_the_total_timeout_not_only_connect() {
    let addr = raw_server();
    let site = Site::new(&[]);
    site.write_config(&format!(
        "[fetch]\ntimeout = \"2s\"\nconnect_timeout = \"1s\"\n[[sources]]\nname = \"trickle\"\nurl = \"http://{addr}/trickle\"\n"
    ));
    let started = std::time::Instant::now();
    let report = wirefeed::build(&site.config()).unwrap();
    let took = started.elapsed();
    // Headers arrive at once; the body would take minutes.
    assert!(matches!(status(&report, "trickle"), SourceStatus::Failed(m) if m.contains("timed out after 2s")));
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_content_length_shorter_than_the_body_ends_the_body_there() {
    let addr = raw_server();
    let site = Site::new(&[]);
    site.write_config(&format!(
        "[[sources]]\nname = \"short\"\nurl = \"http://{addr}/length-short\"\n[[sources]]\nname = \"good\"\nurl = \"http://{addr}/good\"\n"
    ));
    let report = wirefeed::build(&site.config()).unwrap();
    // The cut document is read leniently: the whole first item is there,
    // and the bytes past the promised length are never read as a response.
    match status(&report, "short") {
        SourceStatus::Updated { new, .. } => assert!(new >= 1, "{new}"),
        other => panic!("short: {other:?}"),
    }
    assert_eq!(status(&report, "good"), SourceStatus::Updated { new: 2, changed: 0, total: 2 });
    assert!(site.read("feeds/all.json").contains("length-short story 0"));
}
