//! The local Docker engine, through bollard: load an image layout and run it.
//!
//! Loading sends the layout folder as a tar to `POST /images/load`; the folder carries both
//! `index.json` (containerd store) and `manifest.json` (classic store), so either engine
//! takes it. Running starts the container the way production does (read-only root, no new
//! privileges, every capability dropped) and waits until `/healthz` answers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StartContainerOptions,
};
pub use bollard::Docker;
use futures_util::StreamExt;

use crate::config::{HEALTH_PATH, PORT};
use crate::layout::Layout;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("the Docker engine is not reachable at {socket}: {detail}\n  hint: start Docker (systemctl start docker) or set DOCKER_HOST")]
    Unreachable { socket: String, detail: String },
    #[error("docker {step}: {detail}")]
    Engine { step: String, detail: String },
    #[error("the container {id} did not become healthy: {detail}\n--- container log ---\n{log}")]
    Unhealthy {
        id: String,
        detail: String,
        log: String,
    },
}

fn engine(step: &str, e: impl std::fmt::Display) -> DockerError {
    DockerError::Engine {
        step: step.to_string(),
        detail: e.to_string(),
    }
}

/// Where bollard will connect: `DOCKER_HOST`, else the default socket.
pub fn socket() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

/// Connects and pings, so "the engine is down" is reported as that, up front.
pub async fn connect() -> Result<Docker, DockerError> {
    let unreachable = |detail: String| DockerError::Unreachable {
        socket: socket(),
        detail,
    };
    let docker = Docker::connect_with_local_defaults().map_err(|e| unreachable(e.to_string()))?;
    docker
        .ping()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(docker)
}

/// Loads the image in `layout` and returns the name it was loaded as.
pub async fn load(docker: &Docker, layout: &Layout) -> Result<String, DockerError> {
    let archive = layout_tar(layout).map_err(|e| engine("packing the image for load", e))?;
    let mut stream = docker.import_image(
        bollard::query_parameters::ImportImageOptionsBuilder::default()
            .quiet(true)
            .build(),
        bollard::body_full(archive.into()),
        None,
    );
    let mut loaded = None;
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| engine("load", e))?;
        if let Some(err) = info.error.or(info.error_detail.and_then(|d| d.message)) {
            return Err(engine("load", err));
        }
        if let Some(line) = info.stream.as_deref() {
            if let Some(name) = line.trim().strip_prefix("Loaded image: ") {
                loaded = Some(name.to_string());
            }
            if let Some(id) = line.trim().strip_prefix("Loaded image ID: ") {
                loaded.get_or_insert_with(|| id.to_string());
            }
        }
    }
    loaded
        .or_else(|| layout.tag.clone())
        .ok_or_else(|| engine("load", "the engine did not say what it loaded"))
}

/// The layout folder as a tar, the format `docker load` reads.
fn layout_tar(layout: &Layout) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for file in ["oci-layout", "index.json", "manifest.json"] {
        tar.append_path_with_name(layout.dir.join(file), file)?;
    }
    let mut digests = vec![layout.manifest_digest.clone()];
    digests.extend(layout.blobs().into_iter().map(|(d, _)| d));
    for digest in digests {
        let name = format!("blobs/sha256/{}", crate::blob::hex_of(&digest));
        tar.append_path_with_name(layout.blob_path(&digest), name)?;
    }
    tar.into_inner()
}

/// A started container.
#[derive(Debug, Clone)]
pub struct Running {
    pub id: String,
    pub url: String,
    pub port: u16,
}

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Host port on 127.0.0.1; 0 lets the engine choose.
    pub port: u16,
    pub name: Option<String>,
    pub health_timeout: Duration,
    pub labels: HashMap<String, String>,
    /// Restart it when it stops (unless stopped by hand), as production does.
    pub restart: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            port: 0,
            name: None,
            health_timeout: Duration::from_secs(30),
            labels: HashMap::new(),
            restart: false,
        }
    }
}

/// Creates and starts a container of `image`, then waits until it answers `/healthz`.
/// A container that never gets healthy is removed, and its log is in the error.
pub async fn run(
    docker: &Docker,
    image: &str,
    options: &RunOptions,
) -> Result<Running, DockerError> {
    let id = start(docker, image, options).await?;
    let port = match port_of(docker, &id).await {
        Ok(p) => p,
        Err(e) => {
            let _ = remove(docker, &id).await;
            return Err(e);
        }
    };
    let running = Running {
        url: format!("http://127.0.0.1:{port}/"),
        id,
        port,
    };
    if let Err(detail) =
        wait_healthy(docker, &running.id, running.port, options.health_timeout).await
    {
        let log = logs(docker, &running.id).await;
        let _ = remove(docker, &running.id).await;
        return Err(DockerError::Unhealthy {
            id: running.id,
            detail,
            log,
        });
    }
    Ok(running)
}

/// Creates and starts a container the way production runs it (read-only root, no new
/// privileges, no capabilities, port on 127.0.0.1 only) without waiting for health: the
/// caller gates on it (`run`, or the local rollout's health gate). Returns the container id;
/// the port is known only while it runs ([`port_of`]).
pub async fn start(
    docker: &Docker,
    image: &str,
    options: &RunOptions,
) -> Result<String, DockerError> {
    let port_key = format!("{PORT}/tcp");
    let host_config = HostConfig {
        port_bindings: Some(HashMap::from([(
            port_key.clone(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(if options.port == 0 {
                    String::new()
                } else {
                    options.port.to_string()
                }),
            }]),
        )])),
        readonly_rootfs: Some(true),
        security_opt: Some(vec!["no-new-privileges".into()]),
        cap_drop: Some(vec!["ALL".into()]),
        restart_policy: options.restart.then_some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
            maximum_retry_count: None,
        }),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        exposed_ports: Some(HashMap::from([(port_key.clone(), HashMap::new())])),
        labels: Some(options.labels.clone()),
        host_config: Some(host_config),
        ..Default::default()
    };
    let mut create = CreateContainerOptionsBuilder::default();
    if let Some(n) = &options.name {
        create = create.name(n);
    }
    let created = docker
        .create_container(Some(create.build()), body)
        .await
        .map_err(|e| engine("create", e))?;
    let id = created.id;
    if let Err(e) = docker
        .start_container(&id, None::<StartContainerOptions>)
        .await
    {
        let _ = remove(docker, &id).await;
        return Err(engine("start", e));
    }
    Ok(id)
}

/// The host port a container publishes its server on.
pub async fn port_of(docker: &Docker, id: &str) -> Result<u16, DockerError> {
    published_port(docker, id, &format!("{PORT}/tcp")).await
}

async fn published_port(docker: &Docker, id: &str, key: &str) -> Result<u16, DockerError> {
    let info = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(|e| engine("inspect", e))?;
    info.network_settings
        .and_then(|n| n.ports)
        .and_then(|p| p.get(key).cloned().flatten())
        .and_then(|b| b.into_iter().find_map(|b| b.host_port?.parse().ok()))
        .ok_or_else(|| engine("inspect", format!("no host port published for {key}")))
}

/// Polls `/healthz` until it answers 200, the container stops, or the timeout passes.
pub async fn wait_healthy(
    docker: &Docker,
    id: &str,
    port: u16,
    timeout: Duration,
) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{port}{HEALTH_PATH}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    while started.elapsed() < timeout {
        match http.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("{url} answered {}", r.status()),
            Err(e) => last = format!("{url}: {e}"),
        }
        let state = docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .ok()
            .and_then(|i| i.state);
        if let Some(s) = state.filter(|s| s.running != Some(true)) {
            return Err(format!(
                "the container exited (code {})",
                s.exit_code.unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "no 200 from {url} within {timeout:?}; last: {last}"
    ))
}

/// The container's stdout and stderr, last 50 lines.
pub async fn logs(docker: &Docker, id: &str) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail("50")
        .build();
    let mut out = String::new();
    let mut stream = docker.logs(id, Some(options));
    while let Some(Ok(chunk)) = stream.next().await {
        out.push_str(&chunk.to_string());
    }
    out
}

/// Stops and removes a container (and its anonymous volumes).
pub async fn remove(docker: &Docker, id: &str) -> Result<(), DockerError> {
    docker
        .remove_container(
            id,
            Some(
                RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await
        .map_err(|e| engine("remove", e))
}
