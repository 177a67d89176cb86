//! Who may talk to the REST endpoint: session tokens and login throttling.
//!
//! `/rest/login/<user>/<password>` hands out a random token (256 bits from
//! the kernel's generator) that the server remembers with an expiry
//! (`[server] token-ttl`); `Authorization: Taosd <token>` is checked
//! against that table, so a token cannot be computed from the password,
//! and it stops working when it expires or the server restarts (clients log
//! in again, as taosAdapter's do). Basic auth is checked as before.
//!
//! Every failed login or Basic check counts against the client's address;
//! [`MAX_FAILURES`] of them within [`FAILURE_WINDOW`] lock that address out
//! (HTTP 429, without looking at the password) until the window ends, so
//! guessing a password costs minutes per ten guesses instead of
//! microseconds.
//!
//! May import: `error` only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins from one address before it is locked out.
pub const MAX_FAILURES: u32 = 10;
/// The window failures are counted in, and how long a lock-out lasts.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Default of `[server] token-ttl`: how long a session token stays valid.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// Live tokens kept at once; past it the ones closest to expiry go first
/// (a client that logs in on every request must not grow the table).
pub const MAX_SESSIONS: usize = 10_000;
/// Addresses whose failures are tracked at once (the rest are forgotten
/// oldest first; a flood of addresses is the connection cap's business).
pub const MAX_TRACKED_CLIENTS: usize = 65_536;

/// Live session tokens.
#[derive(Debug, Default)]
pub struct Sessions {
    tokens: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    /// A new token valid for `ttl`.
    pub fn issue(&self, ttl: Duration) -> std::io::Result<String> {
        let token = random_token()?;
        let now = Instant::now();
        let mut t = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if t.len() >= MAX_SESSIONS {
            t.retain(|_, exp| *exp > now);
        }
        if t.len() >= MAX_SESSIONS {
            if let Some(oldest) = t
                .iter()
                .min_by_key(|(_, exp)| **exp)
                .map(|(k, _)| k.clone())
            {
                t.remove(&oldest);
            }
        }
        t.insert(token.clone(), now + ttl);
        Ok(token)
    }

    /// Whether `token` was issued and has not expired.
    pub fn check(&self, token: &str) -> bool {
        let mut t = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        match t.get(token) {
            Some(exp) if *exp > Instant::now() => true,
            Some(_) => {
                t.remove(token);
                false
            }
            None => false,
        }
    }
}

/// 32 bytes of the kernel's randomness, as 64 hex digits.
fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Failed logins per client address.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Throttle {
    /// `Some(seconds left)` when `ip` is locked out now.
    pub fn locked(&self, ip: IpAddr) -> Option<u64> {
        let f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = f.get(&ip)?;
        let age = since.elapsed();
        (*count >= MAX_FAILURES && age < FAILURE_WINDOW)
            .then(|| (FAILURE_WINDOW - age).as_secs().max(1))
    }

    /// One more failure from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() >= MAX_TRACKED_CLIENTS && !f.contains_key(&ip) {
            f.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
            if f.len() >= MAX_TRACKED_CLIENTS {
                if let Some(oldest) = f.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| *k) {
                    f.remove(&oldest);
                }
            }
        }
        let e = f.entry(ip).or_insert((0, now));
        if now.duration_since(e.1) >= FAILURE_WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }

    /// A success from `ip` clears its count.
    pub fn succeeded(&self, ip: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_expire() {
        let s = Sessions::default();
        let a = s.issue(Duration::from_secs(60)).unwrap();
        let b = s.issue(Duration::from_secs(60)).unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(s.check(&a) && s.check(&b));
        assert!(!s.check("cm9vdDp0YW9zZGF0YQ=="));
        let short = s.issue(Duration::from_millis(1)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(!s.check(&short));
    }

    #[test]
    fn ten_failures_lock_an_address_out() {
        let t = Throttle::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed(ip);
        }
        assert_eq!(t.locked(ip), None);
        t.failed(ip);
        assert!(t.locked(ip).is_some_and(|s| s <= 60));
        assert_eq!(t.locked(other), None);
        t.succeeded(ip);
        assert_eq!(t.locked(ip), None);
    }
}
