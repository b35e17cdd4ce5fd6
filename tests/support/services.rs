//! Real services the end-to-end tests start for themselves, each on a free loopback port
//! with its own storage, stopped when dropped: a Docker distribution registry and moto.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free loopback port")
}

/// Fails the test with an install hint if a tool the README's test command installs is
/// missing (so a missing install step fails CI loudly).
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{tool} is not installed: run ./scripts/test, which installs it"
    );
}

/// Polls `ready` until it holds (a service coming up), failing after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < limit,
            "{what} not ready after {limit:?}"
        );
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `GET http://127.0.0.1:port/path` answered at all (any status).
pub fn answers(port: u16, path: &str) -> bool {
    crate::http::get(&format!("http://127.0.0.1:{port}{path}")).is_ok()
}

/// Debian's `docker-registry` (distribution 2.8) with storage in a temp dir.
pub struct Registry {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Registry {
        Registry::start_with_auth(None)
    }

    /// With `Some((user, password))`, the registry requires basic auth (htpasswd).
    pub fn start_with_auth(auth: Option<(&str, &str)>) -> Registry {
        require("docker-registry");
        let dir = tempfile::tempdir().expect("registry dir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = auth {
            let hash = bcrypt::hash(password, 5).expect("bcrypt");
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: galley-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            port,
            child,
            _dir: dir,
        };
        wait_until("docker-registry", Duration::from_secs(20), || {
            answers(port, "/v2/")
        });
        registry
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server` (PyPI `moto[server]`), the AWS emulator, on its own port.
pub struct Moto {
    pub port: u16,
    child: Child,
}

impl Moto {
    /// moto as the tests use it: ACM issues a DNS-validated certificate at its first
    /// check (AWS takes minutes once the records exist; Galley writes them first either way).
    pub fn start() -> Moto {
        Moto::start_with(&[("MOTO_ACM_VALIDATION_WAIT", "0")])
    }

    /// moto with settings of the test's (e.g. a certificate that never validates).
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        require("moto_server");
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto { port, child };
        wait_until("moto_server", Duration::from_secs(60), || {
            answers(port, "/moto-api/data.json")
        });
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points the AWS SDK (and so `galley`) at this moto.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// moto's whole state, for assertions.
    pub fn state(&self) -> serde_json::Value {
        let (_, body) = crate::http::get(&format!("{}/moto-api/data.json", self.endpoint()))
            .expect("moto state");
        serde_json::from_slice(&body).expect("moto state is JSON")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `cargo test` put the workspace's binaries (`target/debug`).
pub fn target_bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}
