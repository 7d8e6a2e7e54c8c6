//! The `ecert-server` binary as an operator meets it: `--help`, the first start, graceful stop.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ecert-server");

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "ECERT_CONFIG",
        "ECERT_LISTEN",
        "DATABASE_URL",
        "ECERT_DB_MAX_CONNECTIONS",
        "ECERT_SITE_ROOT",
        "ECERT_PUBLIC_URL",
        "ECERT_ADMIN_USERNAME",
        "ECERT_ADMIN_PASSWORD",
        "ECERT_LOG",
        "ECERT_SHUTDOWN_GRACE_SECONDS",
    ] {
        assert!(help.contains(var), "--help lacks {var}:\n{help}");
    }
    assert!(help.contains("127.0.0.1:3000"), "defaults are shown");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            let _ = write!(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server did not become healthy");
}

/// Starts the server, waits for health, stops it with SIGTERM; returns its stdout and success.
fn start_and_stop(db: &str) -> (String, bool) {
    let port = free_port();
    let mut child = Command::new(BIN)
        .env_clear()
        .env("ECERT_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", db)
        .env("ECERT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_healthy(port);
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "server did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    (out, exit.success())
}

#[test]
fn first_start_prints_generated_credentials_once_and_sigterm_stops_cleanly() {
    let dir = std::env::temp_dir().join(format!("ecert-bin-{}", std::process::id()));
    let db = format!("sqlite:{}", dir.join("nested/ecert.db").display());

    let (first, ok) = start_and_stop(&db);
    assert!(ok, "clean exit on SIGTERM");
    assert!(first.contains("user name / 用户名: admin"), "{first}");
    assert!(first.contains("password  / 密码:"));
    assert!(first.contains("/console") && first.contains("/dashboard") && first.contains("/verify"));

    let (second, ok) = start_and_stop(&db);
    assert!(ok);
    assert!(!second.contains("密码"), "the password is printed only on first start:\n{second}");
    assert!(second.contains("/console"));
}
