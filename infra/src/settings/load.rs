//! `deploy:` from the site's `_config.yml` (or `_config.yaml`, or `[deploy]` in
//! `_config.toml`: the file the builder reads), parsed with positions so a mistake is
//! reported as file:line:column with what to do.

use std::path::Path;

use galley_diagnostic::config_file as config;

use super::DeploySettings;

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    deploy: Option<DeploySettings>,
}

/// The `deploy:` section (required): for AWS.
pub fn load(site: &Path) -> Result<DeploySettings, String> {
    let Some(path) = config::find(site) else {
        return Err(format!(
            "{}: no _config.yml\n  hint: publish needs a site with a _config.yml holding at least\n    deploy:\n      site: my-blog",
            site.display()
        ));
    };
    read(&path)?.ok_or_else(|| {
        let example = if config::is_toml(&path) {
            "[deploy]\n    site = \"my-blog\""
        } else {
            "deploy:\n      site: my-blog"
        };
        format!(
            "{}: no `deploy:` section\n  hint: add at least\n    {example}",
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
    let parsed: Result<ConfigFile, _> = if config::is_toml(path) {
        toml::from_str(&text).map_err(|e| config::toml_diagnostic(path, &text, &e))
    } else {
        serde_saphyr::from_str(&text).map_err(|e| config::yaml_diagnostic(path, &e, 0))
    };
    let file = parsed.map_err(|diagnostic| {
        if diagnostic.message.contains("missing field `site`") {
            // Not a syntax slip: the one required setting is absent.
            let at = diagnostic.line.map_or(String::new(), |l| format!(":{l}"));
            return format!(
                "{}{at}: error: `deploy:` has no `site:`\n  help: add `site: my-blog` under `deploy:` (lowercase letters, digits and `-`); it names and tags everything Galley creates for the site",
                path.display()
            );
        }
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
    if let Some(path) = config::find(site) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn site_with(file: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(file), text).expect("write config");
        dir
    }

    #[test]
    fn deploy_is_read_from_whichever_config_file_the_builder_reads() {
        for (file, text) in [
            ("_config.yml", "title: A\ndeploy:\n  site: yml-blog\n"),
            ("_config.yaml", "title: A\ndeploy:\n  site: yaml-blog\n"),
            (
                "_config.toml",
                "title = \"A\"\n\n[deploy]\nsite = \"toml-blog\"\ninstance_count = 3\n",
            ),
        ] {
            let dir = site_with(file, text);
            let settings = load(dir.path()).expect(file);
            assert_eq!(settings.site, format!("{}-blog", &file[8..]), "{file}");
            assert_eq!(load_local(dir.path()).expect(file).site, settings.site);
        }
        let toml = site_with(
            "_config.toml",
            "[deploy]\nsite = \"t\"\ninstance_count = 3\n",
        );
        assert_eq!(load(toml.path()).expect("toml").instance_count, 3);
    }

    #[test]
    fn a_toml_mistake_names_its_line_and_a_missing_section_shows_toml() {
        let dir = site_with("_config.toml", "title = \"A\"\n[deploy]\nsite = my-blog\n");
        let err = load(dir.path()).expect_err("unquoted string");
        assert!(err.contains("_config.toml:3:"), "{err}");
        let dir = site_with("_config.toml", "title = \"A\"\n");
        let err = load(dir.path()).expect_err("no section");
        assert!(
            err.contains("no `deploy:` section") && err.contains("[deploy]"),
            "{err}"
        );
        let empty = tempfile::tempdir().expect("temp dir");
        let err = load(empty.path()).expect_err("no config");
        assert!(err.contains("no _config.yml"), "{err}");
    }
}
