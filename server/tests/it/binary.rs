//! The `ecert-server` binary as an operator meets it: `--help`, the first start, graceful stop.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{form_encode, scratch_dir};

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
        "ECERT_CLAIM_MINUTES",
        "ECERT_ARCHIVE_YEARS",
        "ECERT_VALIDITY_YEARS",
        "ECERT_SMS_URL",
        "ECERT_SMS_TEMPLATES",
        "ECERT_SHUTDOWN_GRACE_SECONDS",
    ] {
        assert!(help.contains(var), "--help lacks {var}:\n{help}");
    }
    assert!(help.contains("127.0.0.1:3000"), "defaults are shown");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn wait_healthy(port: u16) {
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
    let dir = scratch_dir("ecert-bin");
    let db = format!("sqlite:{}", dir.join("nested/ecert.db").display());

    let (first, ok) = start_and_stop(&db);
    assert!(ok, "clean exit on SIGTERM");
    assert!(first.contains("user name / 用户名: admin"), "{first}");
    // Issue 14 §6: stdout is a pipe here (a log collector's), so the generated password is not
    // on it but in a file only this user may read, which stdout names.
    let file = dir.join("nested").join(ecert_server::FIRST_START_PASSWORD_FILE);
    assert!(first.contains(&format!("password  / 密码:   in {}", file.display())), "{first}");
    let password = std::fs::read_to_string(&file).unwrap();
    assert!(password.trim().len() >= 16, "a generated password: {password:?}");
    assert!(!first.contains(password.trim()), "the password is not on stdout");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(first.contains("/console") && first.contains("/dashboard") && first.contains("/verify"));

    let (second, ok) = start_and_stop(&db);
    assert!(ok);
    assert!(!second.contains("密码"), "the password is printed only on first start:\n{second}");
    assert!(second.contains("/console"));
}

/// A minimal HTTP/1.1 POST as a page of the platform sends it (with its `Origin`), so the tests need no HTTP client crate (and so share the server's
/// dependency features with `cargo leptos build`). Returns status, headers and body.
fn post(port: u16, path: &str, cookie: &str, content_type: &str, body: &str) -> (u16, String, String) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
         Accept: application/json\r\nCookie: {cookie}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, rest) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_owned(), rest.to_owned())
}

/// A form POST (the default encoding of server functions).
pub(crate) fn post_form(port: u16, path: &str, cookie: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    post(port, path, cookie, "application/x-www-form-urlencoded", &form_encode(fields))
}

/// A JSON POST (the wallet API and JSON-encoded server functions).
pub(crate) fn post_json(port: u16, path: &str, cookie: &str, body: &serde_json::Value) -> (u16, String, String) {
    post(port, path, cookie, "application/json", &body.to_string())
}

/// The `name=value` of a `Set-Cookie` header of a response head.
pub(crate) fn set_cookie(head: &str, name: &str) -> String {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {head}"))
        .to_owned()
}

/// The `code` query parameter of a link.
pub(crate) fn code_of(url: &str) -> String {
    url.split_once("code=").map(|(_, c)| c.to_owned()).expect("a code in the link")
}

/// The server on a free port with a SQLite database in `dir` (made if missing), its
/// administrator's password `admin_password`, no other environment; the caller adds settings
/// and where its output goes, then spawns it and waits with `wait_healthy(port)`.
pub(crate) fn server_in(dir: &std::path::Path, admin_password: &str) -> (Command, u16) {
    std::fs::create_dir_all(dir).unwrap();
    let port = free_port();
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("ECERT_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", format!("sqlite:{}", dir.join("ecert.db").display()))
        .env("ECERT_ADMIN_PASSWORD", admin_password)
        .env("ECERT_LOG", "warn");
    (command, port)
}

/// R16: personal data never reaches the log, even at the most verbose level.
#[test]
fn r16_personal_data_is_absent_from_the_log() {
    let dir = scratch_dir("ecert-log");
    let (mut server, port) = server_in(&dir, "log-test-password");
    let log_path = dir.join("server.log");
    let mut child = server
        .env("ECERT_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    wait_healthy(port);

    let (status, head, _) =
        post_form(port, "/api/staff_sign_in", "", &[("username", "admin"), ("password", "log-test-password")]);
    assert!((200..400).contains(&status), "{head}");
    let cookie = set_cookie(&head, "ecert_staff");

    let id_number = "11010519491231002X";
    let mobile = "13812345678";
    let (status, head, body) = post_form(
        port,
        "/api/issue_certificate",
        &cookie,
        &[
            ("credit_code", "12110000400001034P"),
            ("name", "日志测试单位"),
            ("address", "北京"),
            ("rep_name", "王五"),
            ("rep_id_number", id_number),
            ("rep_mobile", mobile),
            ("first_manager", "legal_rep"),
            ("check_form", "on"),
            ("check_licence", "on"),
            ("check_identity_card", "on"),
        ],
    );
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(body.contains("王*") && !body.contains(id_number), "the response masks too: {body}");
    let slip: serde_json::Value = serde_json::from_str(&body).unwrap();
    let claim_code = code_of(slip["claim_url"].as_str().unwrap());

    // The first manager claims on a phone, signs in to the dashboard and adds a user (R2, R11, R6).
    let phone = ecert_testing::Phone::new();
    let cert_password = "cert-pass-log-1";
    let (status, _, body) = post_json(
        port,
        "/api/v1/wallet/accept",
        "",
        &serde_json::json!({"kind": "claim", "code": claim_code, "name": "王五", "id_number": id_number,
            "password": cert_password, "public_key": phone.public_key, "signature": phone.sign("claim", &claim_code)}),
    );
    assert_eq!(status, 200, "{body}");
    let device_id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["device_id"].as_str().unwrap().to_owned();
    let (status, head, body) = post_form(port, "/api/dashboard_login_start", "", &[]);
    assert_eq!(status, 200, "{body}");
    let login_cookie = set_cookie(&head, "ecert_login");
    let login_qr = serde_json::from_str::<serde_json::Value>(&body).unwrap();
    let login_code = code_of(login_qr["url"].as_str().unwrap());
    let scan = serde_json::json!({"code": login_code, "device_id": device_id, "signature": phone.sign("login-scan", &login_code)});
    assert_eq!(post_json(port, "/api/v1/wallet/login_scan", "", &scan).0, 200);
    let answer = serde_json::json!({"code": login_code, "device_id": device_id, "approve": true,
        "password": cert_password, "signature": phone.sign("login-approve", &login_code),
        "match_code": login_qr["match_code"]});
    assert_eq!(post_json(port, "/api/v1/wallet/login_answer", "", &answer).0, 200);
    let (status, head, body) = post_form(port, "/api/dashboard_login_status", &login_cookie, &[]);
    assert_eq!((status, body.as_str()), (200, "\"confirmed\""));
    let holder_cookie = set_cookie(&head, "ecert_holder");
    let user_id = "110105199001011232";
    let user_mobile = "13998765432";
    let (_, _, body) = post_form(port, "/api/dashboard_catalogue", &holder_cookie, &[]);
    let matter = serde_json::from_str::<serde_json::Value>(&body).unwrap()[0]["id"].as_str().unwrap().to_owned();
    let today = ecert_core::time::format_day(ecert_core::time::today_cst(ecert_core::Millis::now()));
    let mut user = serde_json::json!({"role": "user", "name": "赵六", "id_number": user_id, "mobile": user_mobile,
        "matter_ids": [], "start_day": today, "end_day": today});
    let (status, _, body) = post_json(port, "/api/dashboard_add_holder", &holder_cookie, &user);
    assert_eq!(status, 422, "no matter: refused (and the refusal is not logged with the data): {body}");
    user["matter_ids"] = serde_json::json!([matter]);
    let (status, _, body) = post_json(port, "/api/dashboard_add_holder", &holder_cookie, &user);
    assert_eq!(status, 403, "issue 14 §1: the session alone does not add people: {body}");
    // The phone approves that very action; then the write goes through.
    let action = serde_json::json!({"kind": "add_holder", "role": "user", "name": "赵六", "id_number": user_id,
        "mobile": user_mobile, "grant": {"matter_ids": [matter], "start_day": today, "end_day": today}});
    let (status, _, body) =
        post_json(port, "/api/dashboard_approval_ask", &holder_cookie, &serde_json::json!({"action": action}));
    assert_eq!(status, 200, "{body}");
    let asked = serde_json::from_str::<serde_json::Value>(&body).unwrap();
    let approval_code = code_of(asked["url"].as_str().unwrap());
    let scan = serde_json::json!({"code": approval_code, "device_id": device_id,
        "signature": phone.sign("approval-scan", &approval_code)});
    let (status, _, body) = post_json(port, "/api/v1/wallet/approval_scan", "", &scan);
    assert_eq!(status, 200, "{body}");
    let prompt = serde_json::from_str::<serde_json::Value>(&body).unwrap();
    assert!(prompt["summary_zh"].as_str().unwrap().contains("赵*"), "the phone names the person, masked: {prompt}");
    let subject = ecert_core::login::approval::approve_subject(&approval_code, prompt["digest"].as_str().unwrap());
    let answer = serde_json::json!({"code": approval_code, "device_id": device_id, "approve": true,
        "password": cert_password, "match_code": asked["match_code"], "signature": phone.sign("approval-approve", &subject)});
    assert_eq!(post_json(port, "/api/v1/wallet/approval_answer", "", &answer).0, 200);
    user["approval"] = asked["id"].clone();
    let (status, _, body) = post_json(port, "/api/dashboard_add_holder", &holder_cookie, &user);
    assert_eq!(status, 200, "{body}");

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("request"), "the log has request lines:\n{log}");
    assert!(
        log.contains("/api/v1/wallet/accept") && log.contains("/api/dashboard_add_holder"),
        "every step is in the log"
    );
    for secret in [
        id_number,
        mobile,
        "王五",
        "log-test-password",
        cert_password,
        &claim_code,
        &login_code,
        user_id,
        user_mobile,
        "赵六",
    ] {
        assert!(!log.contains(secret), "the log contains {secret}");
    }
}

// ---------------------------------------------------------------------------------------------
// HTTPS served by the server itself (SPEC §6, Transport)

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files in `dir`.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path, cert.der().to_vec())
}

/// A TLS client that trusts only `ca`.
fn trusting(ca: &[u8]) -> tokio_rustls::TlsConnector {
    use tokio_rustls::rustls::{ClientConfig, RootCertStore, pki_types::CertificateDer};
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.to_vec())).unwrap();
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

fn localhost() -> tokio_rustls::rustls::pki_types::ServerName<'static> {
    tokio_rustls::rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap()
}

/// One HTTP/1.1 request over TLS, trusting only `ca`: the response, or the TLS or I/O error.
fn https(port: u16, ca: &[u8], request: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let connector = trusting(ca);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
        let mut tls = connector.connect(localhost(), tcp).await.map_err(|e| e.to_string())?;
        tls.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        // The server may close without TLS close_notify after `Connection: close`.
        let _ = tls.read_to_end(&mut response).await;
        Ok(String::from_utf8_lossy(&response).into_owned())
    })
}

/// The TLS listener turns Nagle's algorithm off before the handshake, as the plain one does
/// (`ecert_server::tcp`): a streamed page does not wait for the client's delayed ACK.
#[test]
fn tls_connections_are_served_without_nagle() {
    let dir = scratch_dir("ecert-nodelay");
    let (cert, key, ca) = self_signed(&dir);
    let config = ecert_server::tls::server_config(&cert, &key).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let mut listener = ecert_server::tls::TlsListener::new(tcp, config).unwrap();
        let connector = trusting(&ca);
        let handshake = tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            connector.connect(localhost(), tcp).await.unwrap()
        });
        let (served, _) = axum::serve::Listener::accept(&mut listener).await;
        let _client = handshake.await.unwrap();
        assert!(served.get_ref().0.nodelay().unwrap(), "the server's side of a TLS connection has TCP_NODELAY");
    });
}

#[test]
fn the_server_serves_https_itself_with_a_configured_certificate() {
    let dir = scratch_dir("ecert-tls");
    let (cert, key, ca) = self_signed(&dir);
    let port = free_port();
    let mut child = Command::new(BIN)
        .env_clear()
        .env("ECERT_LISTEN", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", format!("sqlite:{}", dir.join("ecert.db").display()))
        .env("ECERT_ADMIN_PASSWORD", "tls-test-password")
        .env("ECERT_TLS_CERT", &cert)
        .env("ECERT_TLS_KEY", &key)
        .env("ECERT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        match https(port, &ca, health) {
            Ok(r) if r.starts_with("HTTP/1.1 200") => break r,
            other => assert!(Instant::now() < deadline, "no HTTPS health answer: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(answer.to_ascii_lowercase().contains("strict-transport-security: max-age=31536000"), "{answer}");

    // Sessions over HTTPS get Secure cookies: the public address defaults to https://.
    let body = "username=admin&password=tls-test-password";
    let sign_in = format!(
        "POST /api/staff_sign_in HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: https://127.0.0.1:{port}\r\n\
         Accept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = https(port, &ca, &sign_in).unwrap();
    // Issue 14 §6: and the `__Host-` prefix, so that no sibling domain can plant one.
    let cookie = answer.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie: __host-ecert_staff="));
    assert!(
        cookie.is_some_and(|c| c.contains("; Secure") && c.contains("; Path=/") && !c.contains("Domain")),
        "{answer}"
    );

    // A client that trusts another certificate is refused, and plain HTTP gets no page.
    let (_, _, stranger) = self_signed(&dir.join("other"));
    assert!(https(port, &ca, health).is_ok());
    let refused = https(port, &stranger, health).unwrap_err();
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    {
        use std::io::Write;
        let _ = write!(plain, "{health}");
    }
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"), "plain HTTP was answered");

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let exit = child.wait().unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(exit.success(), "clean exit on SIGTERM");
    assert!(out.contains(&format!("https://127.0.0.1:{port}/console")), "the printed links are https: {out}");
}

#[test]
fn unusable_tls_settings_stop_the_start_with_what_to_fix() {
    let dir = scratch_dir("ecert-tls-bad");
    let (cert, key, _) = self_signed(&dir);
    let (_, other_key, _) = self_signed(&dir.join("other"));
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let start = |vars: &[(&str, &std::path::Path)]| {
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .env("ECERT_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("DATABASE_URL", format!("sqlite:{}", dir.join("ecert.db").display()))
            .env("ECERT_LOG", "warn");
        for (k, v) in vars {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        assert!(!out.status.success(), "{vars:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = start(&[("ECERT_TLS_CERT", &cert)]);
    assert!(e.contains("ECERT_TLS_KEY") && e.contains("only the certificate"), "{e}");
    let e = start(&[("ECERT_TLS_CERT", &garbage), ("ECERT_TLS_KEY", &key)]);
    assert!(e.contains("garbage.pem") && e.contains("no PEM certificate"), "{e}");
    let e = start(&[("ECERT_TLS_CERT", &cert), ("ECERT_TLS_KEY", &garbage)]);
    assert!(e.contains("garbage.pem"), "{e}");
    let e = start(&[("ECERT_TLS_CERT", &cert), ("ECERT_TLS_KEY", &other_key)]);
    assert!(e.contains("cannot be used together"), "{e}");
    assert!(!dir.join("ecert.db").exists(), "nothing was opened or written");
}

/// Issue 14 §4: an administrator locked out by wrong passwords has a way back that needs no
/// console and no SQL: `ecert-server staff unlock USERNAME`, against the same database, while
/// the server runs. Issue 15 §1: the other administration commands run beside it too: an
/// authority and its administrator added, a password reset, a purge, a backup.
#[test]
fn a_locked_out_administrator_is_unlocked_from_the_command_line() {
    let dir = scratch_dir("ecert-unlock");
    let db = format!("sqlite:{}", dir.join("ecert.db").display());
    let (mut server, port) = server_in(&dir, "unlock-test-password");
    let mut child = server.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    wait_healthy(port);
    let sign_in_as = |username: &str, password: &str| {
        post_form(port, "/api/staff_sign_in", "", &[("username", username), ("password", password)])
    };
    let sign_in = |password: &str| sign_in_as("admin", password);
    for _ in 0..5 {
        let (status, _, _) = sign_in("wrong password");
        assert_eq!(status, 401);
    }
    let (status, _, body) = sign_in("unlock-test-password");
    assert_eq!(status, 429, "locked: {body}");
    assert!(!body.contains("until"), "the answer does not say until when: {body}");

    let admin = |args: &[&str]| {
        let out = Command::new(BIN)
            .env_clear()
            .env("DATABASE_URL", &db)
            .env("ECERT_LOG", "warn")
            .args(args)
            .output()
            .unwrap();
        let said =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        (out.status.success(), said.0, said.1)
    };
    let (ok, _, err) = admin(&["staff", "unlock", "nobody"]);
    assert!(!ok && err.contains("no staff member or counter is named `nobody`"), "{err}");
    let (ok, out, err) = admin(&["staff", "unlock", "admin"]);
    assert!(ok && out.contains("unlocked staff member `admin`"), "{out} {err}");
    let (status, head, _) = sign_in("unlock-test-password");
    assert!((200..400).contains(&status), "signed in after the unlock: {head}");

    // Issue 15 §1: a province below the nation, its first administrator, a password reset.
    let (ok, out, err) =
        admin(&["authority", "add", "--parent", "100000", "--region", "440000", "--name", "广东省事业单位登记管理局"]);
    assert!(ok && out.contains("added authority 440000"), "{out} {err}");
    let (ok, _, err) = admin(&["authority", "add", "--parent", "440000", "--region", "450100", "--name", "别省的市"]);
    assert!(!ok && err.contains("450100"), "another province's city is refused: {err}");
    let (ok, _, err) = admin(&[
        "staff",
        "add",
        "--authority",
        "440000",
        "--username",
        "gd-admin",
        "--name",
        "张三",
        "--duties",
        "auditor,operator",
    ]);
    assert!(!ok && err.contains("--duties"), "an auditor holds no other duty: {err}");
    let (ok, out, err) = admin(&[
        "staff",
        "add",
        "--authority",
        "440000",
        "--username",
        "gd-admin",
        "--name",
        "张三",
        "--duties",
        "administrator",
    ]);
    assert!(ok, "{err}");
    let first = out.rsplit(": ").next().unwrap().trim().to_owned();
    assert_eq!(first.len(), 16, "{out}");
    let (status, _, body) = sign_in_as("gd-admin", &first);
    assert!((200..400).contains(&status), "the new administrator signs in: {body}");
    let (ok, out, err) = admin(&["staff", "reset", "gd-admin"]);
    assert!(ok, "{err}");
    let second = out.rsplit(": ").next().unwrap().trim().to_owned();
    assert_ne!(first, second);
    assert_eq!(sign_in_as("gd-admin", &first).0, 401, "the old password is gone");
    assert!((200..400).contains(&sign_in_as("gd-admin", &second).0));
    let (ok, out, _) = admin(&["migrate"]);
    assert!(ok && out.contains("migrated"), "{out}");
    // R20: the last day of validity is set by serial (the e2e suite sets a real one).
    let (ok, _, err) = admin(&["certificate", "validity", "EC20260101NOSUCH", "--until", "2030-01-01"]);
    assert!(!ok && err.contains("cannot set the validity of `EC20260101NOSUCH`"), "{err}");
    let (ok, _, err) = admin(&["certificate", "validity", "EC20260101NOSUCH", "--until", "2030-02-30"]);
    assert!(!ok && err.contains("cannot set the validity"), "a day that does not exist: {err}");

    // Issue 14 §3: the purge runs from the command line too, beside the running server.
    let (purged, said, err) = admin(&["purge"]);
    // A consistent copy while the server runs, never over an existing file.
    let copy = dir.join("backup.db");
    let (backed_up, backup_said, backup_err) = admin(&["backup", copy.to_str().unwrap()]);
    let (again, _, again_err) = admin(&["backup", copy.to_str().unwrap()]);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    assert!(purged, "{err}");
    assert!(said.contains("purged 0 expired rows") && said.contains("login_request: 0"), "{said}");
    assert!(backed_up && backup_said.contains("backed up the SQLite database"), "{backup_said} {backup_err}");
    let header = std::fs::read(&copy).unwrap();
    assert!(header.starts_with(b"SQLite format 3\0"), "a SQLite file");
    assert!(!again && again_err.contains("exists already"), "{again_err}");
    // The copy serves: a server started on it signs the new administrator in.
    let copy_dir = scratch_dir("ecert-unlock-copy");
    std::fs::create_dir_all(&copy_dir).unwrap();
    std::fs::rename(&copy, copy_dir.join("ecert.db")).unwrap();
    std::fs::copy(dir.join("ecert-data.key"), copy_dir.join("ecert-data.key")).unwrap();
    let (mut restored, port) = server_in(&copy_dir, "unlock-test-password");
    let mut child = restored.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    wait_healthy(port);
    let (status, _, _) = post_form(port, "/api/staff_sign_in", "", &[("username", "gd-admin"), ("password", &second)]);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    assert!((200..400).contains(&status), "the restored copy holds the new administrator");
}

/// Issue 14 §6: JSON logs go to stderr, as the README says; stdout holds the start-up banner only.
#[test]
fn json_logs_go_to_stderr() {
    let dir = scratch_dir("ecert-json-log");
    let (mut server, port) = server_in(&dir, "json-log-password");
    let mut child = server
        .env("ECERT_LOG", "info")
        .env("ECERT_LOG_FORMAT", "json")
        .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    wait_healthy(port);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap();
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap();
    assert!(stdout.contains("/console"), "the banner: {stdout}");
    assert!(!stdout.contains("{\""), "no log line on stdout: {stdout}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.starts_with('{')), "JSON lines on stderr: {stderr}");
    assert!(stderr.contains("\"message\":\"serving\""), "{stderr}");
}

/// A minimal HTTP/1.1 GET; status and body.
fn get(port: u16, path: &str) -> (u16, String) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0), body.to_owned())
}

/// Issue 17 §3: a balancer asks `/readyz`, a supervisor `/livez`, and Prometheus scrapes
/// `/metrics` on a listener of its own, which counts requests by route, refusals by class, the
/// pool, the SQLite writer's queue and its WAL's bound as configured.
#[test]
fn liveness_readiness_and_metrics_apart_from_the_public_port() {
    let dir = scratch_dir("ecert-metrics");
    let (mut server, port) = server_in(&dir, "metrics-test-password");
    let metrics_port = free_port();
    let mut child = server
        .env("ECERT_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
        // Sign-ins: 20 a minute per client, so 2 here.
        .env("ECERT_RATE_LIMIT_SCALE", "0.1")
        .env("ECERT_SQLITE_WAL_LIMIT_MB", "3")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_healthy(port);
    let (live, live_body) = get(port, "/livez");
    let (ready, ready_body) = get(port, "/readyz");
    let sign_in = || post_form(port, "/api/staff_sign_in", "", &[("username", "admin"), ("password", "wrong one")]).0;
    let sign_ins = [sign_in(), sign_in(), sign_in()];
    let (public, _) = get(port, "/metrics");
    let (scraped, text) = get(metrics_port, "/metrics");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut banner = String::new();
    child.stdout.take().unwrap().read_to_string(&mut banner).unwrap();
    let _ = child.wait();

    assert_eq!((live, ready), (200, 200), "{live_body} {ready_body}");
    assert!(ready_body.contains("\"ready\"") && ready_body.contains("SQLite"), "{ready_body}");
    assert_eq!(sign_ins, [401, 401, 429]);
    assert_ne!(public, 200, "no metrics on the public port");
    assert_eq!(scraped, 200);
    for line in [
        "ecert_http_requests_total{route=\"/api/staff_sign_in\",method=\"POST\",status=\"4xx\"} 3",
        "ecert_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"2xx\"} 1",
        "ecert_rate_limited_total{class=\"sign_in\"} 1",
        "ecert_db_writer_queue 0",
        "ecert_db_wal_bound_bytes 3145728",
        "ecert_http_request_duration_seconds_bucket{route=\"/livez\",method=\"GET\",status=\"2xx\",le=\"+Inf\"} 1",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    assert!(text.contains("route=\"unmatched\",method=\"GET\",status=\"4xx\""), "the public /metrics: {text}");
    let rss: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("ecert_process_resident_memory_bytes "))
        .and_then(|v| v.parse().ok())
        .expect("the resident memory");
    assert!(rss > 1e6, "{rss}");
    assert!(banner.contains(&format!("http://127.0.0.1:{metrics_port}/metrics")), "{banner}");
}
