//! Precompressed variants (`x.br`, `x.gz` beside `x`): which files get them and how they are
//! made. The image writer makes them once at high quality; the server makes missing ones at
//! start, faster. One place, so both agree on what is worth compressing.

use std::io::Write;

use crate::mime;

/// Files smaller than this are not worth compressing (headers dominate).
pub const MIN_COMPRESS: usize = 512;

/// Brotli quality when the server has to make a variant at start: fast, still smaller than gzip.
pub const START_BROTLI_QUALITY: u32 = 5;

/// Whether a file at `path` of `len` bytes should carry compressed variants.
pub fn worth_compressing(path: &str, len: usize) -> bool {
    len >= MIN_COMPRESS && mime::is_compressible(mime::content_type(path))
}

/// Brotli at `quality` (0–11), large window for text; `None` if the encoder fails.
pub fn brotli(data: &[u8], quality: u32) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 3 + 16);
    let params = brotli::enc::BrotliEncoderParams {
        quality: quality.min(11) as i32,
        lgwin: 22,
        size_hint: data.len(),
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).ok()?;
    Some(out)
}

/// Gzip at the best level. flate2 writes a fixed header (mtime 0, no name), so the same input
/// always gives the same bytes: image layers stay reproducible.
pub fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 32),
        flate2::Compression::best(),
    );
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

/// A variant is kept only if it is smaller than what it replaces.
pub fn keep_if_smaller(variant: Option<Vec<u8>>, original_len: usize) -> Option<Vec<u8>> {
    variant.filter(|v| v.len() < original_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_worth_compressing_and_images_are_not() {
        assert!(worth_compressing("index.html", 4096));
        assert!(!worth_compressing("index.html", 100));
        assert!(!worth_compressing("photo.jpg", 1 << 20));
    }

    #[test]
    fn gzip_is_deterministic_and_round_trips() {
        let text = "hello galley ".repeat(200);
        let a = gzip(text.as_bytes()).expect("gzip");
        assert_eq!(Some(a.clone()), gzip(text.as_bytes()));
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&a[..]), &mut out)
            .expect("gunzip");
        assert_eq!(out, text);
    }

    #[test]
    fn brotli_round_trips() {
        let text = "hello galley ".repeat(200);
        let b = brotli(text.as_bytes(), 11).expect("brotli");
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &b[..], &mut out).expect("decode");
        assert_eq!(out, text.as_bytes());
    }
}
