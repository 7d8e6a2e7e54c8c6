//! Time as epoch milliseconds. "Now" is read once at the edge and passed down, so every expiry
//! rule can be tested with explicit instants.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Millis(pub i64);

impl Millis {
    pub const SECOND: i64 = 1_000;
    pub const MINUTE: i64 = 60 * Self::SECOND;
    pub const HOUR: i64 = 60 * Self::MINUTE;
    pub const DAY: i64 = 24 * Self::HOUR;

    /// The wall clock. Only the edges (HTTP handlers, start-up) call this.
    #[cfg(feature = "server")]
    pub fn now() -> Millis {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Millis(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    pub fn plus_minutes(self, minutes: i64) -> Millis {
        Millis(self.0.saturating_add(minutes.saturating_mul(Self::MINUTE)))
    }

    pub fn plus_millis(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
}
