//! The flags that say which sources a build reads, shared by `build`, `check` and `serve`.

use std::path::PathBuf;

use galley_site_builder::BuildOptions;

#[derive(clap::Args)]
pub struct SourceArgs {
    /// Config files to read instead of the site's _config.yml, merged in order (Jekyll's
    /// `--config a.yml,b.yml`).
    #[arg(long = "config", value_delimiter = ',')]
    pub config_files: Vec<PathBuf>,
    /// A local copy of the repository that `remote_theme:` names (Galley never downloads).
    #[arg(long = "remote-theme")]
    pub remote_theme: Option<PathBuf>,
    /// Include drafts and unpublished posts.
    #[arg(long)]
    pub drafts: bool,
    /// Include posts dated in the future.
    #[arg(long)]
    pub future: bool,
}

impl SourceArgs {
    /// `options` with these flags set.
    pub fn apply(&self, options: BuildOptions) -> BuildOptions {
        BuildOptions {
            drafts: self.drafts,
            future: self.future,
            config_files: self.config_files.clone(),
            remote_theme: self.remote_theme.clone(),
            ..options
        }
    }
}
