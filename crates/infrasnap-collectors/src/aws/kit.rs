//! The collector kit: what every AWS collector needs done the same way, written once.
//!
//! - [`Tally`]: the bytes and blobs a collector stored (re-exported from the core).
//! - [`Pages`]: follows a listing's page tokens or markers and stops one whose server repeats a
//!   token. Without it a collector either loops for ever or, breaking quietly, passes a partial
//!   listing off as complete (and its coverage as `complete`).

use std::collections::HashSet;

pub use infrasnap_core::engine::Tally;

use crate::aws::sdk_error::ApiFailure;

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
            Some(t) => Err(ApiFailure {
                code: Some("RepeatedPageToken".into()),
                message: format!(
                    "the server repeated a page of {} (token {t}); the listing stopped after {} \
                     items and is not complete",
                    self.what, self.items
                ),
                status: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
