//! `galley new site DIR` and `galley new post "Title"`.

use std::path::PathBuf;
use std::process::ExitCode;

use galley_site_builder::scaffold;

#[derive(clap::Subcommand)]
pub enum What {
    /// Write a starter site into DIR (which must be empty or new).
    Site { dir: PathBuf },
    /// Write _posts/<today>-<slug>.md in the site.
    Post {
        title: String,
        /// The site folder.
        #[arg(long, default_value = ".")]
        site: PathBuf,
    },
}

pub fn run(what: What) -> Result<(), ExitCode> {
    let today = chrono::Local::now().date_naive();
    match what {
        What::Site { dir } => {
            scaffold::new_site(&dir, today).map_err(super::report)?;
            println!(
                "created a new site in {}; try: galley serve {}",
                dir.display(),
                dir.display()
            );
        }
        What::Post { title, site } => {
            let path = scaffold::new_post(&site, &title, today).map_err(super::report)?;
            println!("{}", path.display());
        }
    }
    Ok(())
}
