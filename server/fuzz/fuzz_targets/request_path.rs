//! Any request target through sanitising and lookup: never a panic, and never a key that
//! climbs out of the site or hides a separator or control character.
#![no_main]

use libfuzzer_sys::fuzz_target;

static SITE: std::sync::OnceLock<galley_server::site::Site> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(target) = std::str::from_utf8(data) else { return };
    if let Ok(path) = galley_server::path::sanitize(target) {
        let key = &path.key;
        assert!(!key.starts_with('/'));
        assert!(!key.split('/').any(|seg| seg == ".." || seg == "." || seg.is_empty()) || key.is_empty());
        assert!(!key.contains('\\') && !key.chars().any(char::is_control));
    }
    // The whole handler too, against a tiny site: any target gives a response, never a panic.
    let site = SITE.get_or_init(|| {
        galley_server::site::Site::from_files_uncompressed(vec![galley_server::site::File {
            path: "index.html".into(),
            bytes: b"<p>x</p>".to_vec(),
            modified: std::time::SystemTime::UNIX_EPOCH,
        }])
    });
    let headers = http::HeaderMap::new();
    let req = galley_server::handler::Request { method: &http::Method::GET, target, headers: &headers };
    let _ = galley_server::handler::respond(site, &galley_server::handler::Settings::default(), &req);
});
