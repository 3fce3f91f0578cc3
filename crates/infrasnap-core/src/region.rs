//! AWS region names given by people (`--regions`, `[aws] regions`): checked against region syntax
//! before anything is called, so `US-EAST-1`, an empty entry or a URL is a usage error and never
//! a silently empty capture. A well-formed name no partition knows is kept, with a warning (AWS
//! opens regions faster than a binary is updated).

/// Regions of the public, China and GovCloud partitions known to this build.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Why a region name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error(
        "an empty region name in {origin} (a stray comma?); give names like us-east-1,eu-west-1"
    )]
    Empty { origin: String },
    #[error("`{name}` in {origin} is not a region name: regions are lower case, like `{}`", name.to_ascii_lowercase())]
    UpperCase { name: String, origin: String },
    #[error("`{name}` in {origin} is not a region name but an endpoint; pass endpoints with --endpoint-url and regions like us-east-1")]
    Url { name: String, origin: String },
    #[error("`{name}` in {origin} is not a region name: regions look like us-east-1, eu-west-2, us-gov-west-1")]
    Syntax { name: String, origin: String },
}

/// Check region names; `Ok` carries a warning for each well-formed name no partition knows.
/// `origin` names where they came from (`--regions`, `[aws] regions`).
pub fn check_regions(names: &[String], origin: &str) -> Result<Vec<String>, RegionError> {
    let mut warnings = Vec::new();
    for name in names {
        let origin = origin.to_string();
        let n = name.trim();
        if n.is_empty() {
            return Err(RegionError::Empty { origin });
        }
        if n.contains("://") || n.contains('.') || n.contains('/') {
            return Err(RegionError::Url {
                name: name.clone(),
                origin,
            });
        }
        if n.chars().any(|c| c.is_ascii_uppercase()) && well_formed(&n.to_ascii_lowercase()) {
            return Err(RegionError::UpperCase {
                name: name.clone(),
                origin,
            });
        }
        if n != name || !well_formed(n) {
            return Err(RegionError::Syntax {
                name: name.clone(),
                origin,
            });
        }
        if !KNOWN_REGIONS.contains(&n) {
            warnings.push(format!(
                "region `{n}` ({origin}) is not one this infrasnap knows; it is used as given (a \
                 misspelt region captures nothing there)"
            ));
        }
    }
    Ok(warnings)
}

/// `<area>-<words>-<n>`: lower-case letters in two or more dash-separated parts, then a number.
fn well_formed(n: &str) -> bool {
    let parts: Vec<&str> = n.split('-').collect();
    if parts.len() < 3 {
        return false;
    }
    let (last, words) = parts.split_last().expect("three parts");
    !last.is_empty()
        && last.len() <= 2
        && last.chars().all(|c| c.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
        && words[0].len() == 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("us-east-1")]
    #[case("eu-west-1")]
    #[case("us-gov-west-1")]
    #[case("ap-southeast-4")]
    #[case("cn-northwest-1")]
    fn known_regions_pass_without_warning(#[case] r: &str) {
        assert_eq!(check_regions(&[r.to_string()], "--regions"), Ok(vec![]));
    }

    #[test]
    fn every_known_region_is_well_formed() {
        for r in KNOWN_REGIONS {
            assert!(well_formed(r), "{r}");
        }
    }

    #[test]
    fn an_unknown_but_well_formed_region_is_a_warning() {
        let w = check_regions(&["xx-middle-9".to_string()], "--regions").unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("xx-middle-9"), "{w:?}");
    }

    #[rstest]
    #[case("US-EAST-1", "lower case, like `us-east-1`")]
    #[case("", "empty region name")]
    #[case(" ", "empty region name")]
    #[case("https://s3.eu-west-1.amazonaws.com", "endpoint")]
    #[case("s3.amazonaws.com", "endpoint")]
    #[case("useast1", "not a region name")]
    #[case("us-east", "not a region name")]
    #[case(" us-east-1", "not a region name")]
    #[case("us_east_1", "not a region name")]
    fn bad_names_are_refused_with_the_reason(#[case] r: &str, #[case] says: &str) {
        let e = check_regions(&["us-east-1".to_string(), r.to_string()], "--regions")
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{r:?}: {e}");
        assert!(e.contains("--regions"), "{e}");
    }
}
