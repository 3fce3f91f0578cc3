//! A small async token bucket: at most `rate` requests per second on average, bursts of up to one
//! second's worth. The SDK's adaptive retry handles throttling answers on top of this; this keeps
//! us from provoking them.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

pub struct RateLimiter {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> Self {
        let rate = per_second.max(0.1);
        RateLimiter {
            rate,
            state: Mutex::new((rate, Instant::now())),
        }
    }

    /// Wait until one request may be sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                let (tokens, last) = *s;
                let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate)
                    .min(self.rate.max(1.0));
                if tokens >= 1.0 {
                    *s = (tokens - 1.0, now);
                    return;
                }
                *s = (tokens, now);
                Duration::from_secs_f64((1.0 - tokens) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// What a request waits for: one [`RateLimiter`], or several taken together (the kit's paging
/// takes any).
pub trait Limit: Sync {
    fn wait(&self) -> impl Future<Output = ()> + Send;
}

impl Limit for RateLimiter {
    fn wait(&self) -> impl Future<Output = ()> + Send {
        self.acquire()
    }
}

/// No limit (account-wide calls made once per run).
impl Limit for () {
    fn wait(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

impl<L: Limit + Send + ?Sized> Limit for Arc<L> {
    fn wait(&self) -> impl Future<Output = ()> + Send {
        (**self).wait()
    }
}

impl<L: Limit + ?Sized> Limit for &L {
    fn wait(&self) -> impl Future<Output = ()> + Send {
        (**self).wait()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holds_the_rate() {
        let l = RateLimiter::new(50.0);
        let t = Instant::now();
        for _ in 0..60 {
            l.acquire().await;
        }
        // 50 from the initial burst, then 10 more at 50/s: about 0.2 s.
        let e = t.elapsed().as_secs_f64();
        assert!((0.15..1.0).contains(&e), "{e}");
    }
}
