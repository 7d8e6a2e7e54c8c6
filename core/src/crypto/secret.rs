//! Secrets: random tokens, their hashes, and password hashing.
//!
//! Every token handed out (session, QR, code) carries at least 128 bits of randomness, is stored
//! only as a SHA-256 hash, and is compared in constant time. Passwords are hashed with argon2id.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret value: never `Serialize`, and `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

/// The one source of randomness of the platform. Production uses the OS generator; tests may seed it.
#[derive(Clone)]
pub struct Random {
    seeded: Option<std::sync::Arc<std::sync::Mutex<rand::rngs::StdRng>>>,
}

impl Random {
    pub fn os() -> Self {
        Random { seeded: None }
    }

    pub fn seeded(seed: u64) -> Self {
        Random { seeded: Some(std::sync::Arc::new(std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)))) }
    }

    pub fn fill(&self, buf: &mut [u8]) {
        match &self.seeded {
            Some(rng) => match rng.lock() {
                Ok(mut rng) => rng.fill_bytes(buf),
                Err(poisoned) => poisoned.into_inner().fill_bytes(buf),
            },
            // ThreadRng is a CSPRNG seeded from the operating system.
            None => rand::rng().fill_bytes(buf),
        }
    }

    /// A URL-safe token of 256 random bits.
    pub fn token(&self) -> Secret {
        let mut buf = [0u8; 32];
        self.fill(&mut buf);
        Secret(URL_SAFE_NO_PAD.encode(buf))
    }

    /// An opaque identifier of 128 random bits (ids are unguessable, never sequential).
    pub fn id(&self) -> String {
        let mut buf = [0u8; 16];
        self.fill(&mut buf);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// An identifier that sorts by time: the millisecond `at` as 12 hex digits, then 96 random
    /// bits (still unguessable). For append-only rows, so that their primary-key index grows at
    /// one end instead of dirtying a random page with every insert (usage records).
    pub fn ordered_id(&self, at: crate::Millis) -> String {
        let mut buf = [0u8; 12];
        self.fill(&mut buf);
        format!("{:012x}{}", at.0.max(0), URL_SAFE_NO_PAD.encode(buf))
    }

    /// `n` decimal digits, uniformly random (rejection sampling, no modulo bias).
    pub fn digits(&self, n: usize) -> Secret {
        let mut out = String::with_capacity(n);
        while out.len() < n {
            let mut b = [0u8; 1];
            self.fill(&mut b);
            if b[0] < 250 {
                out.push(char::from(b'0' + b[0] % 10));
            }
        }
        Secret(out)
    }

    /// A password a person can type: 16 characters from an alphabet without look-alikes (~90 bits).
    pub fn password(&self) -> Secret {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut buf = [0u8; 16];
        self.fill(&mut buf);
        Secret(buf.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
    }
}

impl fmt::Debug for Random {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.seeded.is_some() { "Random(seeded)" } else { "Random(os)" })
    }
}

/// SHA-256 of a token, hex-encoded: what the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    super::hex(&digest)
}

/// Constant-time equality of two strings (of possibly different lengths).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Hashes a password with argon2id (the crate's default parameters) on the blocking pool (it
/// takes tens of milliseconds by design), in a [`workspace`].
pub async fn hash_password(password: Secret, random: &Random) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt);
    workspace::run(move |memory| {
        let argon2 = Argon2::default();
        let mut out = [0u8; 32];
        argon2
            .hash_password_into_with_memory(
                password.expose().as_bytes(),
                &salt,
                &mut out,
                memory.take(argon2.params())?,
            )
            .ok()?;
        let salt = SaltString::encode_b64(&salt).ok()?;
        let phc = PasswordHash {
            algorithm: argon2::Algorithm::Argon2id.ident(),
            version: Some(argon2::Version::V0x13.into()),
            params: argon2.params().try_into().ok()?,
            salt: Some(salt.as_salt()),
            hash: Some(argon2::password_hash::Output::new(&out).ok()?),
        };
        Some(phc.to_string())
    })
    .await
    .flatten()
    .ok_or(PasswordError)
}

/// Verifies a password against a stored argon2 hash (in PHC form, whatever its parameters up to
/// [`workspace::MAX_BLOCKS`] KiB), on the blocking pool, in a [`workspace`].
pub async fn verify_password(password: Secret, stored_hash: String) -> bool {
    workspace::run(move |memory| {
        let parsed = PasswordHash::new(&stored_hash).ok()?;
        let algorithm = argon2::Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed.version.map_or(Ok(argon2::Version::default()), argon2::Version::try_from).ok()?;
        let params = argon2::Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let mut out = vec![0u8; expected.len()];
        let blocks = memory.take(&params)?;
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password.expose().as_bytes(), salt, &mut out, blocks)
            .ok()?;
        // `Output` compares in constant time.
        Some(argon2::password_hash::Output::new(&out).ok()? == expected)
    })
    .await
    .flatten()
    .unwrap_or(false)
}

/// Where argon2 runs: at most as many hashes at once as the machine has cores (more would only
/// queue on the CPU), each in a block of memory kept for the next one. Left to the allocator,
/// every blocking thread's 19 MiB came from its own malloc arena and stayed there: a crowd of
/// sign-ins grew the server by hundreds of MiB (issue 14 §3). Now the memory argon2 holds is
/// bounded by cores × the largest parameters seen, whatever the crowd.
pub mod workspace {
    use std::sync::{LazyLock, Mutex};

    use argon2::{Block, Params};
    use tokio::sync::Semaphore;

    /// The largest memory parameter a stored hash may name, in KiB blocks (64 MiB).
    pub const MAX_BLOCKS: usize = 64 * 1024;

    struct Pool {
        permits: Semaphore,
        free: Mutex<Vec<Vec<Block>>>,
    }

    static POOL: LazyLock<Pool> = LazyLock::new(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Pool { permits: Semaphore::new(cores), free: Mutex::new(Vec::with_capacity(cores)) }
    });

    /// One hash's memory, back to the pool when dropped.
    pub struct Memory(Vec<Block>);

    impl Memory {
        /// The blocks `params` needs, or `None` past [`MAX_BLOCKS`].
        pub fn take(&mut self, params: &Params) -> Option<&mut [Block]> {
            let n = params.block_count();
            if n > MAX_BLOCKS {
                return None;
            }
            if self.0.len() < n {
                self.0.resize(n, Block::default());
            }
            Some(&mut self.0[..n])
        }
    }

    impl Drop for Memory {
        fn drop(&mut self) {
            let blocks = std::mem::take(&mut self.0);
            if let Ok(mut free) = POOL.free.lock() {
                free.push(blocks);
            }
        }
    }

    /// Runs `work` on the blocking pool once a core is free for it, with pooled memory; `None`
    /// if the task failed.
    pub async fn run<T: Send + 'static>(work: impl FnOnce(&mut Memory) -> T + Send + 'static) -> Option<T> {
        let pool: &'static Pool = &POOL;
        let permit = pool.permits.acquire().await.ok()?;
        // The permit goes with the work: a caller that gives up waiting frees no core.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let blocks = pool.free.lock().ok().and_then(|mut free| free.pop()).unwrap_or_default();
            work(&mut Memory(blocks))
        })
        .await
        .ok()
    }

    /// The blocks held for reuse now, summed over the pool (for tests and benchmarks).
    pub fn held_blocks() -> usize {
        POOL.free.lock().map_or(0, |free| free.iter().map(Vec::len).sum())
    }
}

/// An argon2id hash of a random password, made once per process, verified against when a user
/// name is unknown so that a wrong name costs as much time as a wrong password.
pub async fn dummy_hash(random: &Random) -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY.get_or_init(|| async { hash_password(random.password(), random).await.unwrap_or_default() }).await.clone()
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_leak_through_debug() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(**redacted**)");
    }

    #[test]
    fn tokens_are_long_random_and_hashed_stably() {
        let r = Random::os();
        let (a, b) = (r.token(), r.token());
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }

    #[test]
    fn ordered_ids_sort_by_time_and_differ_within_a_millisecond() {
        let r = Random::os();
        let (a, b, c) =
            (r.ordered_id(crate::Millis(999)), r.ordered_id(crate::Millis(999)), r.ordered_id(crate::Millis(1_000)));
        assert_ne!(a, b);
        assert!(a < c && b < c, "{a} {b} {c}");
        assert!(a.starts_with("0000000003e7") && c.starts_with("0000000003e8"));
        assert_eq!(a.len(), 12 + 16);
    }

    #[test]
    fn seeded_randomness_repeats() {
        assert_eq!(Random::seeded(7).id(), Random::seeded(7).id());
    }

    #[tokio::test]
    async fn passwords_verify_only_when_right() {
        let r = Random::seeded(1);
        let hash = hash_password(Secret::new("correct horse"), &r).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Secret::new("correct horse"), hash.clone()).await);
        assert!(!verify_password(Secret::new("wrong horse"), hash).await);
    }

    /// Hashes made before the workspace (by the crate's own hasher) still verify, and the
    /// crate verifies ours: the stored form is the same PHC string.
    #[tokio::test]
    async fn pooled_hashes_are_the_crates_own_phc_strings() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let theirs = Argon2::default().hash_password(b"old password", &salt).unwrap().to_string();
        assert!(verify_password(Secret::new("old password"), theirs.clone()).await);
        assert!(!verify_password(Secret::new("old passwore"), theirs).await);
        let ours = hash_password(Secret::new("new password"), &Random::seeded(3)).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"new password", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"new passwore", &parsed).is_err());
        // Parameters beyond the workspace's ceiling are refused, not allocated.
        let huge = argon2::Params::new(256 * 1024, 1, 1, None).unwrap();
        let hungry = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, huge)
            .hash_password(b"x", &salt)
            .unwrap()
            .to_string();
        assert!(!verify_password(Secret::new("x"), hungry).await);
        assert!(!verify_password(Secret::new("x"), "not a hash".to_owned()).await);
    }

    /// Issue 14 §3: a crowd of hashes holds no more argon2 memory than one hash per core.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_crowd_of_hashes_holds_one_hash_of_memory_per_core() {
        let stored = hash_password(Secret::new("pw"), &Random::os()).await.unwrap();
        let crowd: Vec<_> =
            (0..24).map(|_| tokio::spawn(verify_password(Secret::new("wrong"), stored.clone()))).collect();
        for one in crowd {
            assert!(!one.await.unwrap());
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let one_hash = argon2::Params::default().block_count();
        // Other tests of this process may be hashing too: they share the same bound.
        let held = workspace::held_blocks();
        assert!(held <= cores * one_hash, "{held} blocks held for {cores} cores");
    }
}
