//! How an S3 object goes back: one PutObject, or a multipart upload in parts (an object over
//! 5 GiB cannot be sent in one PutObject; a large one goes faster in parallel parts). Pure: the
//! writer in the collectors crate sends what [`plan_upload`] says.

use serde::{Deserialize, Serialize};

const MIB: u64 = 1024 * 1024;
/// Objects above this size go up in parts, unless `[restore] multipart_threshold` says
/// otherwise.
pub const DEFAULT_THRESHOLD: u64 = 64 * MIB;
/// The size of each part (the last one is smaller), unless `[restore] part_size` says otherwise.
pub const DEFAULT_PART_SIZE: u64 = 64 * MIB;
/// S3's limits: the smallest part but the last, the largest part and single PutObject, the
/// most parts, the largest object.
pub const MIN_PART: u64 = 5 * MIB;
pub const MAX_PART: u64 = 5 * 1024 * MIB;
pub const MAX_PARTS: u64 = 10_000;
pub const MAX_OBJECT: u64 = 5 * 1024 * 1024 * MIB;

/// One part of a multipart upload: its number (from 1) and its bytes in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub number: i32,
    pub offset: u64,
    pub len: u64,
}

/// How one object is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upload {
    Single,
    Multipart(Vec<Part>),
}

/// The sizes restore uploads with (`[restore]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadSizes {
    pub threshold: u64,
    pub part_size: u64,
}

impl Default for UploadSizes {
    fn default() -> Self {
        UploadSizes {
            threshold: DEFAULT_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

/// An object S3 cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the object is {size} bytes, over S3's largest object (5 TiB): it cannot be uploaded")]
pub struct TooLarge {
    pub size: u64,
}

/// One PutObject up to the threshold (and never over 5 GiB); above it, parts of `part_size`
/// (raised to S3's 5 MiB minimum, and as far as needed to stay within 10,000 parts).
pub fn plan_upload(size: u64, sizes: UploadSizes) -> Result<Upload, TooLarge> {
    if size > MAX_OBJECT {
        return Err(TooLarge { size });
    }
    if size <= sizes.threshold.min(MAX_PART) {
        return Ok(Upload::Single);
    }
    let mut part = sizes.part_size.clamp(MIN_PART, MAX_PART);
    if size.div_ceil(part) > MAX_PARTS {
        // Whole MiB, so parts stay aligned.
        part = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
    }
    let mut parts = Vec::new();
    let mut offset = 0;
    while offset < size {
        let len = part.min(size - offset);
        parts.push(Part {
            number: parts.len() as i32 + 1,
            offset,
            len,
        });
        offset += len;
    }
    Ok(Upload::Multipart(parts))
}

/// A size from the config: bytes, or a number with `KiB`, `MiB`, `GiB` (`"64MiB"`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a size: give bytes or a number with KiB, MiB or GiB"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => MIB,
        "GiB" => 1024 * MIB,
        u => {
            return Err(format!(
                "`{s}`: unknown unit `{u}`; give bytes or a number with KiB, MiB or GiB"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const GIB: u64 = 1024 * MIB;

    fn parts(size: u64, sizes: UploadSizes) -> Vec<Part> {
        match plan_upload(size, sizes).unwrap() {
            Upload::Single => Vec::new(),
            Upload::Multipart(p) => p,
        }
    }

    #[rstest]
    #[case(0, true)]
    #[case(DEFAULT_THRESHOLD, true)]
    #[case(DEFAULT_THRESHOLD + 1, false)]
    #[case(6 * GIB, false)]
    fn one_put_up_to_the_threshold(#[case] size: u64, #[case] single: bool) {
        assert_eq!(
            plan_upload(size, UploadSizes::default()).unwrap() == Upload::Single,
            single
        );
    }

    #[test]
    fn over_5_gib_is_always_multipart_whatever_the_threshold() {
        let sizes = UploadSizes {
            threshold: u64::MAX,
            part_size: DEFAULT_PART_SIZE,
        };
        let p = parts(5 * GIB + 1, sizes);
        assert_eq!(p.len(), 81);
        assert_eq!(p.last().unwrap().len, 1);
    }

    #[rstest]
    #[case(200 * MIB, 64 * MIB, &[64 * MIB, 64 * MIB, 64 * MIB, 8 * MIB])]
    #[case(12 * MIB, MIB, &[5 * MIB, 5 * MIB, 2 * MIB])] // raised to S3's 5 MiB minimum
    #[case(10 * MIB, 5 * MIB, &[5 * MIB, 5 * MIB])]
    fn parts_cover_the_object_in_order(
        #[case] size: u64,
        #[case] part_size: u64,
        #[case] want: &[u64],
    ) {
        let p = parts(
            size,
            UploadSizes {
                threshold: 0,
                part_size,
            },
        );
        assert_eq!(p.iter().map(|p| p.len).collect::<Vec<_>>(), want);
        let mut at = 0;
        for (i, x) in p.iter().enumerate() {
            assert_eq!(x.number, i as i32 + 1);
            assert_eq!(x.offset, at);
            at += x.len;
        }
        assert_eq!(at, size);
    }

    #[test]
    fn a_huge_object_stays_within_10000_parts() {
        let size = 4 * 1024 * GIB; // 4 TiB at 64 MiB would be 65,536 parts
        let p = parts(size, UploadSizes::default());
        assert!(p.len() as u64 <= MAX_PARTS, "{}", p.len());
        assert!(p.iter().all(|x| x.len <= MAX_PART));
        assert_eq!(p.iter().map(|x| x.len).sum::<u64>(), size);
        assert_eq!(
            plan_upload(MAX_OBJECT + 1, UploadSizes::default()),
            Err(TooLarge {
                size: MAX_OBJECT + 1
            })
        );
    }

    #[rstest]
    #[case("1048576", Ok(MIB))]
    #[case("64MiB", Ok(64 * MIB))]
    #[case("8 KiB", Ok(8 * 1024))]
    #[case("1GiB", Ok(GIB))]
    #[case("64MB", Err(()))]
    #[case("lots", Err(()))]
    fn sizes_in_the_config(#[case] s: &str, #[case] want: Result<u64, ()>) {
        assert_eq!(parse_size(s).map_err(|_| ()), want);
    }
}
