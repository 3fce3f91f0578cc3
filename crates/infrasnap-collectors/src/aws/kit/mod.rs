//! The collector kit: what every AWS collector needs done the same way, written once.
//!
//! - [`Service`]: a service's errors ([`CollectError`], recorded as the manifest's `RecordedError`).
//! - [`doc`]: one way to turn SDK answers into documents.
//! - [`Run`]: a collector's progress, errors and timing, and the rule that sets its status.
//! - [`Tally`]: the bytes and blobs a collector stored (re-exported from the core).
//! - [`all_pages`] (and [`sdk_pages!`] for an SDK call): every item of a paged listing, each page
//!   asked once the service's rate limit allows it, with [`Pages`] following the page tokens or
//!   markers: a listing whose server repeats a token fails. Without that guard a collector either
//!   loops for ever or, breaking quietly, passes a partial listing off as complete (and its
//!   coverage as `complete`).

pub mod doc;
mod run;

use std::collections::HashSet;
use std::future::Future;

pub use infrasnap_core::engine::Tally;
pub use run::Run;

use crate::aws::ratelimit::Limit;
#[cfg(test)]
use crate::aws::ratelimit::RateLimiter;
use crate::aws::sdk_error::{ApiFailure, CollectError};
use infrasnap_core::metadata::RecordedError;

/// A service's errors, each built as a [`CollectError`] and recorded as the manifest's
/// [`RecordedError`]: `const ERR: Service = Service("acm");`, then `ERR.api(action, resource,
/// &failure)` for a failed call and `ERR.local(resource, e)` for a failed write.
pub struct Service(pub &'static str);

impl Service {
    pub fn api(&self, action: &str, resource: &str, f: &ApiFailure) -> RecordedError {
        f.of(self.0, action, resource).into()
    }

    pub fn local(&self, resource: &str, e: impl std::fmt::Display) -> RecordedError {
        CollectError::local(self.0, resource, e).into()
    }
}

/// What a paged listing read: every item of the pages it got, how many pages that was, and why
/// it stopped early, if it did (`failure` with `pages == 0`: not even the first page came).
pub struct Listing<T> {
    pub items: Vec<T>,
    pub pages: usize,
    pub failure: Option<ApiFailure>,
}

/// Read a paged listing: `page(token)` sends one request (the first with `None`) and gives back
/// its items and the next page's token (`None` or empty on the last page). Each request waits for
/// `limiter`; a token the server gave before stops the listing with a `RepeatedPageToken`
/// failure. A failure keeps the items read before it (for collectors that write a partial listing
/// and say so).
pub async fn listing<T, F, Fut>(
    what: impl Into<String>,
    limiter: &impl Limit,
    mut page: F,
) -> Listing<T>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), ApiFailure>>,
{
    let mut pages = Pages::new(what);
    let mut out = Listing {
        items: Vec::new(),
        pages: 0,
        failure: None,
    };
    let mut token = None;
    loop {
        limiter.wait().await;
        let (items, next) = match page(token.take()).await {
            Ok(p) => p,
            Err(f) => {
                out.failure = Some(f);
                return out;
            }
        };
        out.pages += 1;
        pages.read(items.len());
        out.items.extend(items);
        match pages.next(next.as_deref()) {
            Ok(Some(t)) => token = Some(t),
            Ok(None) => return out,
            Err(f) => {
                out.failure = Some(f);
                return out;
            }
        }
    }
}

/// Every item of a paged listing ([`listing`]), or the failure that stopped it.
pub async fn all_pages<T, F, Fut>(
    what: impl Into<String>,
    limiter: &impl Limit,
    page: F,
) -> Result<Vec<T>, ApiFailure>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), ApiFailure>>,
{
    let l = listing(what, limiter, page).await;
    match l.failure {
        None => Ok(l.items),
        Some(f) => Err(f),
    }
}

/// The next-page token of an answer that says separately whether it is truncated (IAM, Route53,
/// CloudFront): the marker only when it is.
pub fn marker_if(truncated: bool, marker: Option<String>) -> Option<String> {
    marker.filter(|_| truncated)
}

/// [`all_pages`] of an SDK call: `sdk_pages!(limiter, what, |token| request, |answer| (items,
/// next token))`. `request` is the fluent builder with the token set (`.set_marker(token)`,
/// `.set_next_token(token)`); `answer` is the call's output, owned. Gives a future of
/// `Result<Vec<_>, ApiFailure>`.
macro_rules! sdk_pages {
    ($limiter:expr, $what:expr, |$t:ident| $req:expr, |$r:ident| $split:expr) => {
        $crate::aws::kit::all_pages($what, $limiter, |$t: Option<String>| {
            let sent = $req.send();
            async move {
                let $r = sent
                    .await
                    .map_err(|e| $crate::aws::sdk_error::describe(&e))?;
                Ok::<_, $crate::aws::sdk_error::ApiFailure>($split)
            }
        })
    };
}
pub(crate) use sdk_pages;

/// The page tokens of one listing.
pub struct Pages {
    what: String,
    seen: HashSet<String>,
    items: usize,
}

impl Pages {
    /// `what`: the listing, for the error (`SES identities in eu-west-1`).
    pub fn new(what: impl Into<String>) -> Self {
        Pages {
            what: what.into(),
            seen: HashSet::new(),
            items: 0,
        }
    }

    /// Count the items of the page just read (for the error's "stopped after N").
    pub fn read(&mut self, n: usize) {
        self.items += n;
    }

    /// The token to ask the next page with, from what the last answer said: `Ok(None)` when
    /// the listing is complete (no token, or an empty one), `Err` when the server gave a token it
    /// gave before: the listing stops there and is not complete.
    pub fn next(&mut self, token: Option<&str>) -> Result<Option<String>, ApiFailure> {
        match token {
            None | Some("") => Ok(None),
            Some(t) if self.seen.insert(t.to_string()) => Ok(Some(t.to_string())),
            Some(t) => Err(ApiFailure::new(
                "RepeatedPageToken",
                format!(
                    "the server repeated a page of {} (token {t}); the listing stopped after {} \
                     items and is not complete",
                    self.what, self.items
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing of pages `a`, `b`, then `a` again (a server repeating itself) at 20 requests per
    /// second: it fails with `RepeatedPageToken` after 3 requests, keeps the 2 pages it read, and
    /// the requests waited for the limiter.
    #[tokio::test]
    async fn pages_wait_for_the_rate_limit_and_a_repeated_token_fails_the_listing() {
        let limiter = RateLimiter::new(20.0);
        // Spend the initial burst, so that each page below waits its turn.
        for _ in 0..20 {
            limiter.acquire().await;
        }
        let started = std::time::Instant::now();
        let mut asked = Vec::new();
        let l = listing("test items", &limiter, |t: Option<String>| {
            asked.push(t.clone());
            let next = match t.as_deref() {
                None => "a",
                Some("a") => "b",
                _ => "a",
            };
            async move { Ok((vec![1, 2], Some(next.to_string()))) }
        })
        .await;
        let waited = started.elapsed().as_secs_f64();
        assert_eq!(asked, [None, Some("a".into()), Some("b".into())]);
        assert_eq!(l.items.len(), 6);
        assert_eq!(l.pages, 3);
        let f = l.failure.expect("a repeated token fails the listing");
        assert_eq!(f.code.as_deref(), Some("RepeatedPageToken"));
        assert!(f.message.contains("test items"), "{}", f.message);
        // 3 requests at 20/s after the burst: about 0.15 s.
        assert!((0.1..2.0).contains(&waited), "{waited}");

        // A listing that ends: every item, no failure; a failed first page: nothing read.
        let done = all_pages("x", &limiter, |t: Option<String>| async move {
            Ok((vec![t.is_some()], t.is_none().then(|| "next".to_string())))
        })
        .await
        .unwrap();
        assert_eq!(done, [false, true]);
        let failed = listing("x", &limiter, |_t| async {
            Err::<(Vec<u8>, _), _>(ApiFailure {
                code: Some("AccessDenied".into()),
                message: "no".into(),
                status: Some(403),
            })
        })
        .await;
        assert_eq!((failed.pages, failed.items.len()), (0, 0));
        assert!(failed.failure.unwrap().is_denied());
    }

    #[test]
    fn a_listing_ends_on_no_token_and_stops_on_a_repeated_one() {
        let mut p = Pages::new("identities");
        p.read(3);
        assert_eq!(p.next(Some("a")).unwrap().as_deref(), Some("a"));
        p.read(3);
        assert_eq!(p.next(Some("b")).unwrap().as_deref(), Some("b"));
        p.read(2);
        let e = p.next(Some("a")).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("RepeatedPageToken"));
        assert!(e.message.contains("after 8 items"), "{}", e.message);
        let mut q = Pages::new("x");
        assert_eq!(q.next(None).unwrap(), None);
        assert_eq!(q.next(Some("")).unwrap(), None);
    }
}
