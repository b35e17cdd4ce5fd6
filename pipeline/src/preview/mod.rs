//! `galley serve`: builds the site into memory, serves it with the production server
//! library, rebuilds what every save changes (the builder's incremental session) and tells
//! open pages to reload. A failed rebuild shows over the page and is reported to the caller,
//! and the last good build keeps being served.

mod files;
mod watch;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use galley_server::handler::Settings;
use galley_server::listener::{serve, shutdown_signal, Limits, SharedSite};
use galley_server::preview::Preview as Reload;
use galley_site_builder::{BuildOptions, Session};

use crate::failure::Failure;

/// What to preview and where.
pub struct PreviewRequest {
    pub site: PathBuf,
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// How to build; the preview sets the base URL (its own address) and the destination.
    pub build: BuildOptions,
}

/// What happened after a save.
#[derive(Debug)]
pub enum Event<'a> {
    /// The site was rebuilt and the new one swapped in.
    Rebuilt {
        /// Why everything was rebuilt, when it was.
        full: Option<String>,
        /// Files made anew.
        files: usize,
        millis: u128,
        /// The sources that changed, relative to the site.
        changed: &'a [String],
    },
    /// The rebuild failed; the last good build keeps being served.
    Failed(&'a str),
}

/// A built site, bound to its address, ready to serve.
pub struct Preview {
    listener: TcpListener,
    root: PathBuf,
    session: Session,
    shared: SharedSite,
    /// The site's address.
    pub url: String,
    /// Files in the first build.
    pub files: usize,
    pub millis: u128,
    pub warnings: Vec<String>,
}

/// Binds the address, then builds the site into memory.
pub fn start(request: PreviewRequest) -> Result<Preview, Failure> {
    let addr = SocketAddr::new(request.host, request.port);
    let listener = TcpListener::bind(addr)
        .map_err(|e| Failure::site(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::service(format!("cannot read the listening address: {e}")))?;
    // The preview serves from its own root, so links use this address and no baseurl.
    let options = BuildOptions {
        base_url: Some(format!("http://{addr}")),
        destination: Some(request.site.join("_site")),
        force: false,
        ..request.build
    };
    let started = Instant::now();
    let session = Session::start(&request.site, &options)?;
    let built = session
        .site()
        .ok_or_else(|| Failure::service("the preview's first build kept no site"))?;
    let site = files::preview_site(built).map_err(Failure::site)?;
    Ok(Preview {
        listener,
        root: request.site,
        files: built.files.len(),
        warnings: session.warnings(),
        session,
        shared: Arc::new(RwLock::new(Arc::new(site))),
        url: format!("http://{addr}/"),
        millis: started.elapsed().as_millis(),
    })
}

impl Preview {
    /// Serves until Ctrl-C, rebuilding on every save; `on_event` hears each rebuild.
    pub fn run(self, on_event: impl Fn(Event) + Send + 'static) -> Result<(), Failure> {
        let reload = Arc::new(Reload::default());
        let _watcher = watch::watch(
            &self.root,
            self.session,
            self.shared.clone(),
            reload.clone(),
            on_event,
        )
        .map_err(|e| Failure::service(format!("cannot watch {}: {e}", self.root.display())))?;
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| Failure::service(format!("cannot start the async runtime: {e}")))?;
        let listener = self.listener;
        let shared = self.shared;
        runtime
            .block_on(async {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let limits = Limits {
                    access_log: false,
                    drain_timeout: Duration::from_secs(1),
                    ..Limits::default()
                };
                serve(
                    listener,
                    shared,
                    Arc::new(Settings::default()),
                    limits,
                    Some(reload),
                    shutdown_signal(),
                )
                .await
            })
            .map_err(|e| Failure::service(format!("preview server: {e}")))
    }
}
