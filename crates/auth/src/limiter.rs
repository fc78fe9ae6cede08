//! Rate limiting of failed authentication attempts: a token bucket per
//! client IP. Only failures spend tokens, so a client that knows its token is
//! never slowed down; once a client's bucket is empty every attempt that
//! carries a token is refused with 429 until it refills, whether the token is
//! right or not (otherwise a guesser would still learn which guess was right).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::Request;

/// Beyond this many tracked clients, full buckets are forgotten: they carry
/// no information, and this bounds the memory an attacker can make us use.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct Limiter {
    burst: f64,
    refill_every: Duration,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Limiter {
    /// `burst` failures allowed at once, then one more every `refill_every`.
    pub fn new(burst: u32, refill_every: Duration) -> Limiter {
        Limiter {
            burst: f64::from(burst.max(1)),
            refill_every: refill_every.max(Duration::from_millis(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let earned = now.saturating_duration_since(bucket.updated).as_secs_f64()
            / self.refill_every.as_secs_f64();
        Bucket {
            tokens: (bucket.tokens + earned).min(self.burst),
            updated: now,
        }
    }

    /// `Err(seconds to wait)` when this client has no attempt left.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(bucket) = buckets.get_mut(&ip) else {
            return Ok(());
        };
        *bucket = self.refilled(*bucket, now);
        if bucket.tokens >= 1.0 {
            Ok(())
        } else {
            Err(self.wait_secs(bucket.tokens))
        }
    }

    /// Spends one attempt of this client after a failure.
    pub fn record_failure(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let burst = self.burst;
            buckets.retain(|_, bucket| self.refilled(*bucket, now).tokens < burst);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        *bucket = self.refilled(*bucket, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    fn wait_secs(&self, tokens: f64) -> u64 {
        let missing = (1.0 - tokens).max(0.0);
        (missing * self.refill_every.as_secs_f64()).ceil().max(1.0) as u64
    }
}

/// The client's IP: the TCP peer, or the `X-Real-IP` set by our nginx when
/// the peer is a proxy on a loopback or private address. Without connection
/// info (a router served without `into_make_service_with_connect_info`),
/// `X-Real-IP` or else the unspecified address, one bucket for all.
pub fn client_ip<B>(request: &Request<B>) -> IpAddr {
    let forwarded = || {
        request
            .headers()
            .get("x-real-ip")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<IpAddr>().ok())
    };
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => {
            let peer = peer.ip();
            if is_proxy_address(peer) {
                forwarded().unwrap_or(peer)
            } else {
                peer
            }
        }
        None => forwarded().unwrap_or(IpAddr::from([0, 0, 0, 0])),
    }
}

fn is_proxy_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_blocked_after_its_burst_and_others_are_not() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(attacker).is_ok());
            limiter.record_failure(attacker);
        }
        let wait = limiter.check(attacker).unwrap_err();
        assert!((1..=60).contains(&wait), "wait {wait}");
        assert!(limiter.check(other).is_ok());
    }

    #[test]
    fn attempts_come_back_with_time() {
        let limiter = Limiter::new(1, Duration::from_millis(20));
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        limiter.record_failure(ip);
        assert!(limiter.check(ip).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.check(ip).is_ok());
    }

    #[test]
    fn the_real_ip_header_is_trusted_only_from_a_proxy_address() {
        let mut request = Request::builder()
            .header("x-real-ip", "203.0.113.9")
            .body(())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5000))));
        assert_eq!(
            client_ip(&request),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 2], 5000))));
        assert_eq!(
            client_ip(&request),
            "198.51.100.2".parse::<IpAddr>().unwrap()
        );
    }
}
