//! `deploy:` from the site's `_config.yml`, parsed with positions so a mistake is reported
//! as file:line:column with what to do.

use std::path::Path;

use galley_infra::DeploySettings;

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    deploy: Option<DeploySettings>,
}

/// The `deploy:` section (required): for AWS.
pub fn load(site: &Path) -> Result<DeploySettings, String> {
    let path = site.join("_config.yml");
    read(&path)?.ok_or_else(|| {
        format!(
            "{}: no `deploy:` section\n  hint: add at least\n    deploy:\n      site: my-blog",
            path.display()
        )
    })
}

/// The validated `deploy:` section of `path`, or `None` when it has none.
fn read(path: &Path) -> Result<Option<DeploySettings>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: cannot read: {e}\n  hint: publish needs a site with a _config.yml",
            path.display()
        )
    })?;
    let file: ConfigFile = serde_saphyr::from_str(&text).map_err(|e| {
        let diagnostic = galley_site_builder::config::yaml_diagnostic(path, &e, 0);
        format!("{diagnostic}\n  hint: see the `deploy:` settings in the README")
    })?;
    if let Some(settings) = &file.deploy {
        settings
            .validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(file.deploy)
}

/// Settings for `--target local`: the `deploy:` section when there is one, else defaults
/// with the site named after its folder (a laptop needs no AWS settings).
pub fn load_local(site: &Path) -> Result<DeploySettings, String> {
    let path = site.join("_config.yml");
    if path.exists() {
        if let Some(settings) = read(&path)? {
            return Ok(settings);
        }
    }
    let folder = std::fs::canonicalize(site)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_lowercase()))
        .unwrap_or_default();
    let mut name: String = folder
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .chars()
        .take(20)
        .collect();
    if name.is_empty() {
        name = "site".into();
    }
    let settings: DeploySettings =
        serde_json::from_value(serde_json::json!({ "site": name })).map_err(|e| e.to_string())?;
    settings.validate()?;
    Ok(settings)
}
