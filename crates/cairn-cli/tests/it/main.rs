//! The `cairn` binary end to end: persistence at start-up (unreadable files, the
//! reference's file, restarts) and the offline `cairn store` commands.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../cairn/tests/data/persist");

/// Copies fixture files into a fresh directory; returns it and the first copy's path.
fn copy(names: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in names {
        std::fs::copy(Path::new(FIXTURES).join(from), dir.path().join(to)).unwrap();
    }
    let first = dir.path().join(names[0].1);
    (dir, first)
}

fn cairn(args: &[&str]) -> Output {
    Command::new(CAIRN).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn store_verify_accepts_good_files_and_rejects_damaged_ones() {
    let (_dir, file) = copy(&[("good/store.cairn", "s"), ("good/store.cairn.wal", "s.wal")]);
    let out = cairn(&["store", "verify", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("ok: 3 groups"),
        "{}",
        text(&out.stdout)
    );

    let (_dir, file) = copy(&[("bitflip.cairn", "s")]);
    let out = cairn(&["store", "verify", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("checksum mismatch"),
        "{}",
        text(&out.stderr)
    );

    let out = cairn(&["store", "verify", "/nonexistent/file"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no such file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn store_dump_prints_the_exposition_the_files_hold() {
    let (_dir, file) = copy(&[("good/store.cairn", "s"), ("good/store.cairn.wal", "s.wal")]);
    let out = cairn(&["store", "dump", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = std::fs::read_to_string(Path::new(FIXTURES).join("good/store.prom")).unwrap();
    assert_eq!(text(&out.stdout), expected);

    // The reference Pushgateway's file dumps as the reference served it.
    let (_dir, file) = copy(&[("reference/groups.gob", "pg.data")]);
    let out = cairn(&["store", "dump", file.to_str().unwrap()]);
    let expected =
        std::fs::read_to_string(Path::new(FIXTURES).join("reference/groups.prom")).unwrap();
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn store_inspect_says_what_the_files_are() {
    let (_dir, file) = copy(&[("good/store.cairn", "s"), ("good/store.cairn.wal", "s.wal")]);
    let out = cairn(&["store", "inspect", file.to_str().unwrap()]);
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        shown.contains("format:    cairn snapshot, format version 1"),
        "{shown}"
    );
    assert!(shown.contains("changes:   2 after the snapshot"), "{shown}");
    assert!(shown.contains("holds:     3 groups"), "{shown}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `cairn` on a loopback port, stopped with SIGTERM when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let port = free_port();
        let child = Command::new(CAIRN)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if server
                .get("/-/ready")
                .is_some_and(|r| r.starts_with("HTTP/1.0 200"))
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("cairn did not become ready");
    }

    fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").ok()?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).ok()?;
        Some(reply)
    }

    /// The reply to a PUT of `body` to `path`.
    fn put(&self, path: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "PUT {path} HTTP/1.0\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    }

    /// The pushed part of the scrape (no own families), as the reference's captures are.
    fn pushed(&self) -> String {
        let reply = self.get("/metrics").unwrap();
        let body = reply.split_once("\r\n\r\n").unwrap().1;
        let mut out = String::new();
        let mut own = false;
        for line in body.lines() {
            if let Some(rest) = line
                .strip_prefix("# HELP ")
                .or(line.strip_prefix("# TYPE "))
            {
                own = rest.starts_with("pushgateway_") || rest.starts_with("process_");
            }
            if !own {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    fn stop(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let code = self.child.wait().unwrap().code();
        std::mem::forget(self);
        code
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_unreadable_persistence_file_stops_start_up_and_stays_untouched() {
    let (_dir, file) = copy(&[("bitflip.cairn", "pg.data")]);
    let before = std::fs::read(&file).unwrap();
    let port = free_port();
    let out = cairn(&[
        &format!("--web.listen-address=127.0.0.1:{port}"),
        &format!("--persistence.file={}", file.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&file.display().to_string())
            && stderr.contains("checksum mismatch")
            && stderr.contains("--persistence.discard-unreadable"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn discard_unreadable_sets_the_file_aside_and_starts_empty() {
    let (dir, file) = copy(&[("bitflip.cairn", "pg.data")]);
    let before = std::fs::read(&file).unwrap();
    let server = Server::start(&[
        &format!("--persistence.file={}", file.display()),
        "--persistence.discard-unreadable",
    ]);
    assert_eq!(server.pushed(), "");
    assert_eq!(server.stop(), Some(0));
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".unreadable-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), before);
}

#[test]
fn the_reference_file_is_imported_and_kept_aside() {
    let (dir, file) = copy(&[("reference/groups.gob", "pg.data")]);
    let expected =
        std::fs::read_to_string(Path::new(FIXTURES).join("reference/groups.prom")).unwrap();
    let flag = format!("--persistence.file={}", file.display());
    let server = Server::start(&[&flag]);
    assert_eq!(server.pushed(), expected);
    assert_eq!(server.stop(), Some(0));
    let original = std::fs::read(Path::new(FIXTURES).join("reference/groups.gob")).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("pg.data.reference")).unwrap(),
        original
    );
    // From now on the file is cairn's own, and holds the same.
    let out = cairn(&["store", "inspect", file.to_str().unwrap()]);
    assert!(
        text(&out.stdout).contains("cairn snapshot"),
        "{}",
        text(&out.stdout)
    );
    let server = Server::start(&[&flag]);
    assert_eq!(server.pushed(), expected);
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn limit_flags_reach_the_store_and_a_bad_value_is_a_usage_error() {
    let server = Server::start(&["--push.max-labels-per-series=1", "--push.max-series=4"]);
    let reply = server.put("/metrics/job/a", "m{x=\"1\",y=\"2\"} 1\n");
    assert!(reply.starts_with("HTTP/1.0 413"), "{reply}");
    assert!(
        reply.ends_with(
            "series of metric \"m\" has 2 labels, more than --push.max-labels-per-series=1\n"
        ),
        "{reply}"
    );
    let reply = server.put("/metrics/job/a", "m{x=\"1\"} 1\nn 1\n");
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
    let reply = server.put("/metrics/job/b", "");
    assert!(reply.starts_with("HTTP/1.0 413"), "{reply}");
    assert!(reply.contains("--push.max-series=4"), "{reply}");
    let status = server.get("/api/v1/status").unwrap();
    assert!(status.contains("\"push.max-series\":\"4\""), "{status}");
    let scrape = server.get("/metrics").unwrap();
    assert!(scrape.contains("pushgateway_limit_rejections_total{limit=\"series\"} 1\n"));
    drop(server);

    let out = cairn(&["--push.max-series=lots"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--push.max-series"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_push_in_flight_at_sigterm_is_answered_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store");
    let file_flag = format!("--persistence.file={}", file.display());
    let server = Server::start(&[&file_flag]);
    let body = "in_flight 42\n";
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        stream,
        "PUT /metrics/job/shutdown HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..4]
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The server is shutting down; the rest of the body still arrives and is answered.
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&body.as_bytes()[4..]).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let mut server = server;
    let code = server.child.wait().unwrap().code();
    std::mem::forget(server);
    assert_eq!(code, Some(0));
    // The push is in the persisted store.
    let restarted = Server::start(&[&file_flag]);
    assert!(
        restarted
            .pushed()
            .contains("in_flight{instance=\"\",job=\"shutdown\"} 42"),
        "{}",
        restarted.pushed()
    );
}

#[test]
fn a_log_grown_past_64_mib_is_folded_into_a_snapshot_before_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("store");
    let file_flag = format!("--persistence.file={}", file.display());
    let server = Server::start(&[&file_flag, "--persistence.interval=1h"]);
    // Each push logs its 4 MiB help text: 20 of them take the log past 64 MiB while the
    // store holds one group.
    let help = "h".repeat(4 << 20);
    for i in 0..20 {
        let body = format!("# HELP big {help}\nbig {i}\n");
        let reply = server.put("/metrics/job/big", &body);
        assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
    }
    let snapshots = || {
        let reply = server.get("/metrics").unwrap();
        reply
            .lines()
            .find_map(|l| l.strip_prefix("pushgateway_persistence_snapshots_total "))
            .map(|v| v.parse::<f64>().unwrap())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while snapshots() == Some(0.0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(snapshots(), Some(1.0), "one snapshot, long before the hour");
    let wal = std::fs::metadata(dir.path().join("store.wal"))
        .unwrap()
        .len();
    // The snapshot may start after the 16th push, which passes 64 MiB; the next 4 pushes
    // (16 MiB) then go to the new log.
    assert!(
        wal < 24 << 20,
        "the log starts again after the snapshot: {wal} bytes"
    );
    let snapshot = std::fs::metadata(&file).unwrap().len();
    assert!(snapshot > 4 << 20 && snapshot < 8 << 20, "{snapshot}");
    // What a crash now leaves is the snapshot and the short log: the last push is back.
    drop(server);
    let restarted = Server::start(&[&file_flag]);
    assert!(
        restarted
            .pushed()
            .contains("big{instance=\"\",job=\"big\"} 19\n")
    );
}
