//! The demo relying party as a person runs it (its binary): it says which setting is missing,
//! serves its start page, and explains on the page when the platform cannot be reached. Building
//! this test also builds the binary the browser tests run (`ECERT_E2E_DEMO_RP_BIN`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ecert-demo-rp");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A GET over a fresh connection: the status code and the body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()))
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_missing_setting_is_named_and_the_exit_status_is_2() {
    let out = Command::new(BIN)
        .env_remove("ECERT_DEMO_ISSUER")
        .env_remove("ECERT_DEMO_CLIENT_ID")
        .env_remove("ECERT_DEMO_CLIENT_SECRET")
        .env("ECERT_DEMO_LISTEN", format!("127.0.0.1:{}", free_port()))
        .output()
        .expect("run the demo");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ECERT_DEMO_ISSUER is not set"), "{stderr}");
}

#[test]
fn it_serves_its_start_page_and_explains_an_unreachable_platform() {
    let (port, dead) = (free_port(), free_port());
    let child = Command::new(BIN)
        .env("ECERT_DEMO_ISSUER", format!("http://127.0.0.1:{dead}"))
        .env("ECERT_DEMO_CLIENT_ID", "demo")
        .env("ECERT_DEMO_CLIENT_SECRET", "secret")
        .env("ECERT_DEMO_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    let _running = Running(child);
    let started = Instant::now();
    let home = loop {
        if let Some(reply) = get(port, "/") {
            break reply;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the demo did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(home.0, 200);
    assert!(home.1.contains("href=\"/login\""), "{}", home.1);
    let (status, body) = get(port, "/login").expect("the login route answers");
    assert_eq!(status, 502, "discovery against a closed port fails as a bad gateway: {body}");
    assert!(body.contains("<p>"), "the page says why: {body}");
}
