//! `deploy:` from the site's `_config.yml`, parsed with positions so a mistake is reported
//! as file:line:column with what to do.

use std::path::Path;

use galley_infra::DeploySettings;

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    deploy: Option<DeploySettings>,
}

pub fn load(site: &Path) -> Result<DeploySettings, String> {
    let path = site.join("_config.yml");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: cannot read: {e}\n  hint: publish needs a site with a _config.yml",
            path.display()
        )
    })?;
    let file: ConfigFile = serde_saphyr::from_str(&text).map_err(|e| {
        let diagnostic = galley_site_builder::config::yaml_diagnostic(&path, &e, 0);
        format!("{diagnostic}\n  hint: see the `deploy:` settings in the README")
    })?;
    let settings = file.deploy.ok_or_else(|| {
        format!(
            "{}: no `deploy:` section\n  hint: add at least\n    deploy:\n      site: my-blog",
            path.display()
        )
    })?;
    settings
        .validate()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(settings)
}
