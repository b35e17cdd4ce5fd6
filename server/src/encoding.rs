//! Step: choosing the precompressed variant a client accepts, by `Accept-Encoding` q-values
//! (RFC 9110 §12.5.3). The response always carries `Vary: Accept-Encoding`.

/// The variants a file may have, in the order we prefer them at equal q.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }
}

/// The best encoding among those available (`has_br`, `has_gzip`); identity when the client
/// does not ask, or refuses the others. Identity is always acceptable to us as a fallback,
/// even if the client writes `identity;q=0` (we would rather send bytes than a 406).
pub fn negotiate(accept: Option<&str>, has_br: bool, has_gzip: bool) -> Encoding {
    let Some(accept) = accept else {
        return Encoding::Identity;
    };
    let mut q_br = None;
    let mut q_gzip = None;
    let mut q_star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        match name.as_str() {
            "br" => q_br = Some(q),
            "gzip" | "x-gzip" => q_gzip = Some(q),
            "*" => q_star = Some(q),
            _ => {}
        }
    }
    let br = if has_br {
        q_br.or(q_star).unwrap_or(0.0)
    } else {
        0.0
    };
    let gz = if has_gzip {
        q_gzip.or(q_star).unwrap_or(0.0)
    } else {
        0.0
    };
    if br > 0.0 && br >= gz {
        Encoding::Brotli
    } else if gz > 0.0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(None, true, true), Identity);
        assert_eq!(negotiate(Some("br, gzip"), true, true), Brotli);
        assert_eq!(
            negotiate(Some("gzip, br"), true, true),
            Brotli,
            "equal q prefers br"
        );
        assert_eq!(negotiate(Some("br;q=0.5, gzip"), true, true), Gzip);
        assert_eq!(negotiate(Some("br;q=0, gzip;q=0"), true, true), Identity);
        assert_eq!(
            negotiate(Some("br"), false, true),
            Identity,
            "no variant, no encoding"
        );
        assert_eq!(negotiate(Some("*"), false, true), Gzip);
        assert_eq!(negotiate(Some("deflate"), true, true), Identity);
        assert_eq!(negotiate(Some("GZIP;Q=0.8"), true, true), Gzip);
        assert_eq!(
            negotiate(Some("br;q=bogus"), true, false),
            Brotli,
            "a bad q counts as 1"
        );
    }
}
