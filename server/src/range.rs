//! Step: one `Range: bytes=…` request (RFC 9110 §14.2). Several ranges are answered with the
//! whole file (allowed, and what most static servers do); unsatisfiable ranges get 416.

/// What to send for a `Range` header on a file of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeReply {
    /// No (usable) range: the whole file, 200.
    Full,
    /// Bytes `start..=end`, 206.
    Partial { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

pub fn parse(header: Option<&str>, len: u64) -> RangeReply {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeReply::Full;
    };
    if spec.contains(',') {
        return RangeReply::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeReply::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        // `bytes=-N`: the last N bytes.
        (true, false) => match last.parse::<u64>() {
            Ok(n) if n > 0 && len > 0 => Some((len.saturating_sub(n), len - 1)),
            Ok(_) => return RangeReply::Unsatisfiable,
            Err(_) => None,
        },
        // `bytes=N-`: from N to the end.
        (false, true) => first
            .parse::<u64>()
            .ok()
            .map(|s| (s, len.saturating_sub(1))),
        (false, false) => match (first.parse::<u64>(), last.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.min(len.saturating_sub(1)))),
            (Ok(_), Ok(_)) => return RangeReply::Full,
            _ => None,
        },
        (true, true) => None,
    };
    match parsed {
        None => RangeReply::Full,
        Some((start, _)) if start >= len => RangeReply::Unsatisfiable,
        Some((start, end)) => RangeReply::Partial { start, end },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeReply::*;

    #[test]
    fn ranges() {
        assert_eq!(parse(None, 100), Full);
        assert_eq!(parse(Some("bytes=0-9"), 100), Partial { start: 0, end: 9 });
        assert_eq!(
            parse(Some("bytes=90-"), 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=-10"), 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=-500"), 100),
            Partial { start: 0, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=50-500"), 100),
            Partial { start: 50, end: 99 }
        );
        assert_eq!(parse(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(
            parse(Some("bytes=0-1,5-6"), 100),
            Full,
            "several ranges: whole file"
        );
        assert_eq!(parse(Some("bytes=9-3"), 100), Full, "invalid: ignored");
        assert_eq!(parse(Some("items=0-1"), 100), Full);
        assert_eq!(parse(Some("bytes=x-1"), 100), Full);
        assert_eq!(parse(Some("bytes=0-0"), 0), Unsatisfiable);
    }
}
