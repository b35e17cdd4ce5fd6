//! Step: headers every response carries, safe by default. HSTS only when the request came
//! over HTTPS (the load balancer says so in `X-Forwarded-Proto`), never on plain HTTP.

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Sorted by name (a test keeps them so); added to every response.
pub const ALWAYS: &[(&str, &str)] = &[
    ("content-security-policy", "frame-ancestors 'self'"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
];

pub const HSTS: &str = "max-age=31536000; includeSubDomains";

pub fn apply(headers: &mut HeaderMap, forwarded_https: bool) {
    for (name, value) in ALWAYS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if forwarded_https {
        headers.insert(
            http::header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted() {
        assert!(ALWAYS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
