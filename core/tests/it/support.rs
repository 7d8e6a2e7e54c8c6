//! Helpers shared by the suite: explicit instants and fresh rows per test. The rows themselves
//! come from `ecert_testing`, which the server's tests and the benchmarks share.

use ecert_core::store::Db;
use ecert_core::{DomainError, Error, Millis, store::query};

pub use ecert_testing::{Phone, credit_code, resident_id};

pub const T0: Millis = Millis(1_767_225_600_000); // 2026-01-01T00:00:00Z

/// A new authority with one staff member; returns the staff user name.
pub async fn staff_member(db: &Db, password: &str) -> String {
    ecert_testing::staff_member(db, password, T0).await
}

/// A signed-in staff member of a new authority of their own.
pub async fn staff_view(db: &Db) -> ecert_core::staff::StaffView {
    ecert_testing::staff(db, T0).await.0
}

/// The domain error of a refused call (panics on success or on a backend failure).
pub fn domain<T: std::fmt::Debug>(r: Result<T, Error>) -> DomainError {
    match r {
        Err(Error::Domain(d)) => d,
        other => panic!("expected a domain error, got {other:?}"),
    }
}

/// `SELECT COUNT(*) …` with one text parameter.
pub async fn count(db: &Db, sql: &str, arg: &str) -> i64 {
    db.fetch_one(query(sql).bind(arg)).await.unwrap()
}

/// Reads one HTTP request (head, then as many body bytes as it announces) from a fake
/// service's connection; answers its body, or `None` when the client went away first.
pub async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 8192];
    let mut got = Vec::new();
    loop {
        let n = socket.read(&mut buf).await.unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let announced = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= announced {
                return Some(body.to_owned());
            }
        }
        if n == 0 {
            return None;
        }
    }
}
