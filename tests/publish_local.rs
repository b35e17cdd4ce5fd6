//! `galley publish --target local` with real containers in the local Docker engine behind
//! Galley's own load balancer: v1, then v2 (with a canary) while a bounded load runs through
//! the balancer, with zero failed requests; then a release whose server cannot start, which
//! is never switched to while v2 keeps serving; then `destroy`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use galley_tests::services::{free_port, require};
use galley_tests::{copy_fixture, galley, server_binary, text};

struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    state: PathBuf,
    port: u16,
    name: String,
}

impl Site {
    fn new() -> Site {
        let (tmp, dir) = copy_fixture("sites/theme-blog");
        // One name per site: tests run in parallel in one process, and containers, images
        // and the balancer are named after the site.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "lt{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let config = dir.join("_config.yml");
        let mut yaml = std::fs::read_to_string(&config).expect("config");
        yaml.push_str(&format!(
            "\ndeploy:\n  site: {name}\n  health_timeout: 60\n  canary:\n    percent: 50\n    seconds: 2\n"
        ));
        std::fs::write(&config, yaml).expect("write config");
        let state = tmp.path().join("state");
        Site {
            dir,
            state,
            port: free_port(),
            name,
            _tmp: tmp,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn set_version(&self, v: &str) {
        std::fs::write(self.dir.join("version.txt"), v).expect("write version.txt");
    }

    fn galley(&self, server: &Path, args: &[&str]) -> Output {
        galley()
            .args(args)
            .env("GALLEY_STATE_DIR", &self.state)
            .env("GALLEY_SERVER_BINARY", server)
            .env("GALLEY_POLL_MS", "50")
            .output()
            .expect("run galley")
    }

    fn publish(&self, server: &Path) -> Output {
        let port = self.port.to_string();
        let site = self.dir.display().to_string();
        self.galley(
            server,
            &["publish", &site, "--target", "local", "--port", &port],
        )
    }

    fn status(&self) -> serde_json::Value {
        let site = self.dir.display().to_string();
        let out = self.galley(
            &server_binary(),
            &["status", "--site", &site, "--target", "local", "--json"],
        );
        assert!(out.status.success(), "status: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }

    fn releases(&self) -> serde_json::Value {
        let site = self.dir.display().to_string();
        let out = self.galley(
            &server_binary(),
            &["releases", "--site", &site, "--target", "local", "--json"],
        );
        assert!(out.status.success(), "releases: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("releases JSON")
    }
}

impl Drop for Site {
    /// Never leave containers or a balancer behind, even when an assertion failed.
    fn drop(&mut self) {
        let site = self.dir.display().to_string();
        let _ = self.galley(
            &server_binary(),
            &["destroy", "--site", &site, "--target", "local"],
        );
    }
}

/// Requests through the balancer from a few keep-alive clients until stopped; every
/// answer in completion order: the body on 200, else what went wrong.
struct Load {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<(u64, Result<String, String>)>>,
}

const WORKERS: usize = 4;

impl Load {
    fn start(url: String) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let seq = Arc::new(AtomicU64::new(0));
                let mut tasks = Vec::new();
                for _ in 0..WORKERS {
                    let (url, flag, seq) = (url.clone(), flag.clone(), seq.clone());
                    tasks.push(tokio::spawn(async move {
                        let client = reqwest::Client::builder()
                            .no_proxy()
                            .build()
                            .expect("client");
                        let mut seen = Vec::new();
                        while !flag.load(Ordering::SeqCst) {
                            let outcome = match client.get(&url).send().await {
                                Ok(r) if r.status() == 200 => match r.text().await {
                                    Ok(body) => Ok(body.trim().to_string()),
                                    Err(e) => Err(format!("body: {e}")),
                                },
                                Ok(r) => Err(format!("status {}", r.status())),
                                Err(e) => Err(format!("request: {e}")),
                            };
                            seen.push((seq.fetch_add(1, Ordering::SeqCst), outcome));
                        }
                        seen
                    }));
                }
                let mut all = Vec::new();
                for t in tasks {
                    all.extend(t.await.expect("worker"));
                }
                all.sort_by_key(|(n, _)| *n);
                all
            })
        });
        Load { stop, thread }
    }

    fn finish(self) -> Vec<Result<String, String>> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .expect("load thread")
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }
}

/// A static server binary that fails at start, as a broken release would.
fn broken_server(dir: &Path) -> PathBuf {
    require("gcc");
    let src = dir.join("broken.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { fputs(\"broken server: cannot start\\n\", stderr); return 1; }\n",
    )
    .expect("write broken.c");
    let bin = dir.join("broken-server");
    let out = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("run gcc");
    assert!(out.status.success(), "gcc: {}", text(&out.stderr));
    bin
}

fn releases_of(status: &serde_json::Value) -> Vec<String> {
    status["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| c["release"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn local_releases_switch_without_failed_requests_and_a_broken_one_is_never_switched_to() {
    let site = Site::new();
    let server = server_binary();

    // v1: the first release, no canary (nothing to compare with).
    site.set_version("v1");
    let out = site.publish(&server);
    assert!(out.status.success(), "publish v1: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("live: {}", site.url("/"))),
        "{}",
        text(&out.stdout)
    );
    let (status, body) =
        galley_tests::http::get(&site.url("/version.txt")).expect("GET through the balancer");
    assert_eq!((status, text(&body).trim().to_string()), (200, "v1".into()));
    let v1 = site.status();
    let v1_id = v1["live"]["id"].as_str().expect("live release").to_string();
    assert_eq!(releases_of(&v1), vec![v1_id.clone(), v1_id.clone()]);

    // v2 under load, through a 50% canary.
    site.set_version("v2");
    let load = Load::start(site.url("/version.txt"));
    let out = site.publish(&server);
    let seen = load.finish();
    assert!(out.status.success(), "publish v2: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("canary at 50%"),
        "{}",
        text(&out.stderr)
    );
    let failed: Vec<&String> = seen.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed during the switch, first: {:?}",
        failed.len(),
        seen.len(),
        failed.first()
    );
    let bodies: Vec<&str> = seen.iter().filter_map(|r| r.as_deref().ok()).collect();
    assert!(
        bodies.iter().all(|b| *b == "v1" || *b == "v2"),
        "{bodies:?}"
    );
    let first_v2 = bodies
        .iter()
        .position(|b| *b == "v2")
        .expect("the load saw v2");
    assert!(bodies[..first_v2].iter().all(|b| *b == "v1"));
    // Without the canary only requests already in flight could answer v1 after the first
    // v2; with it, v1 keeps half the traffic while the canary holds.
    let v1_after = bodies[first_v2..].iter().filter(|b| **b == "v1").count();
    assert!(
        v1_after > WORKERS,
        "only {v1_after} v1 answers after the first v2: no canary split seen"
    );
    assert_eq!(bodies.last(), Some(&"v2"));
    let v2 = site.status();
    let v2_id = v2["live"]["id"].as_str().expect("live release").to_string();
    assert_ne!(v2_id, v1_id);
    assert_eq!(
        releases_of(&v2),
        vec![v2_id.clone(), v2_id.clone()],
        "v1's containers are gone, v2 has two"
    );
    assert!(v2["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .all(|c| c["health"] == "healthy"));
    // One view for both targets: the status names its target, and the history marks the
    // release the balancer serves, newest first.
    assert_eq!(v2["target"], "local");
    let history = site.releases();
    assert_eq!(history["live"], v2_id.as_str(), "{history}");
    let ids: Vec<&str> = history["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, [v2_id.as_str(), v1_id.as_str()], "{history}");

    // v3 cannot start: the gate fails on the containers' own state, v2 keeps serving.
    site.set_version("v3");
    let broken = broken_server(site._tmp.path());
    let load = Load::start(site.url("/version.txt"));
    let out = site.publish(&broken);
    let seen = load.finish();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("the server exited"), "{stderr}");
    assert!(stderr.contains("broken server: cannot start"), "{stderr}");
    assert!(
        stderr.contains("previous release is still serving"),
        "{stderr}"
    );
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|r| r.as_deref() == Ok("v2")),
        "every request during the failed release answered by v2: {:?}",
        seen.iter().find(|r| r.as_deref() != Ok("v2"))
    );
    let after = site.status();
    assert_eq!(after["live"]["id"], v2_id.as_str());
    assert_eq!(releases_of(&after), vec![v2_id.clone(), v2_id]);

    // destroy: no container of the site, nothing listening.
    let dir = site.dir.display().to_string();
    let out = site.galley(&server, &["destroy", "--site", &dir, "--target", "local"]);
    assert!(out.status.success(), "destroy: {}", text(&out.stderr));
    let gone = site.status();
    assert!(releases_of(&gone).is_empty(), "{gone}");
    assert!(gone["url"].is_null());
    assert!(galley_tests::http::get(&site.url("/")).is_err());
    let images = Command::new("docker")
        .args(["images", "-q", &format!("galley/{}", site.name)])
        .output()
        .expect("docker images");
    assert!(text(&images.stdout).trim().is_empty(), "images left behind");
}

/// The host PID of a container's server, to kill it as a crash would (Docker restarts a
/// crashed container; `docker kill` would count as stopping it by hand).
fn server_pid(container: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "-f", "{{.State.Pid}}", container])
        .output()
        .expect("docker inspect");
    let pid = text(&out.stdout).trim().to_string();
    assert!(
        pid.parse::<u32>().is_ok_and(|p| p > 0),
        "no pid for {container}: {pid:?}"
    );
    pid
}

/// The balancer's own view: which containers it has taken out of rotation.
fn balancer_down(state: &Path) -> Vec<String> {
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("balancer.json")).expect("balancer.json"))
            .expect("balancer info");
    let admin = info["admin"].as_str().expect("admin");
    let token = info["token"].as_str().expect("token");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let routes = rt.block_on(async {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
            .get(format!("http://{admin}/routes"))
            .bearer_auth(token)
            .send()
            .await
            .expect("routes")
            .bytes()
            .await
            .expect("routes body")
    });
    let routes: serde_json::Value = serde_json::from_slice(&routes).expect("routes JSON");
    routes["down"]
        .as_array()
        .map(|d| d.iter().map(|a| a.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn killing_or_docker_killing_either_container_under_load_fails_no_request_and_it_comes_back() {
    let site = Site::new();
    let server = server_binary();
    site.set_version("v1");
    let out = site.publish(&server);
    assert!(out.status.success(), "publish: {}", text(&out.stderr));
    let status = site.status();
    let containers: Vec<String> = status["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(containers.len(), 2);

    // The control API cuts off a client that never finishes its request (it had no
    // timeout: one such client held a connection forever).
    let info: serde_json::Value = serde_json::from_slice(
        &std::fs::read(site.state.join("balancer.json")).expect("balancer.json"),
    )
    .expect("balancer info");
    let mut slow = std::net::TcpStream::connect(info["admin"].as_str().expect("admin"))
        .expect("connect to the control API");
    slow.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    std::io::Write::write_all(&mut slow, b"GET /routes HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("partial request");
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut slow, &mut rest)
        .expect("the control API closes an unfinished request instead of waiting forever");
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));

    let load = Load::start(site.url("/version.txt"));
    for (n, victim) in containers.iter().enumerate() {
        let pid = server_pid(victim);
        let killed = Command::new("kill")
            .args(["-9", &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        // Docker restarts it on the same port; the balancer takes it back once /healthz
        // answers. Both are polled (bounded), never slept on.
        galley_tests::services::wait_until(
            "the killed container to be back and healthy",
            std::time::Duration::from_secs(60),
            || {
                let healths = healths(&site.status());
                // Healthy, and the restart shows (not "exited" as before).
                healths.len() == 2
                    && healths.iter().all(|h| h.starts_with("healthy"))
                    && healths
                        .iter()
                        .filter(|h| h.contains("restarted 1 times"))
                        .count()
                        == n + 1
                    && balancer_down(&site.state).is_empty()
            },
        );
    }
    // The trouble monkey's `docker kill`: Docker leaves a container stopped from outside
    // alone; the balancer's keeper starts it again, and the balancer takes it back once
    // its health path answers.
    for victim in &containers {
        let started_before = started_at(victim);
        let killed = Command::new("docker")
            .args(["kill", victim])
            .status()
            .expect("docker kill");
        assert!(killed.success());
        galley_tests::services::wait_until(
            "the docker-killed container to be started again and healthy",
            std::time::Duration::from_secs(60),
            || {
                let healths = healths(&site.status());
                started_at(victim) != started_before
                    && healths.len() == 2
                    && healths.iter().all(|h| h.starts_with("healthy"))
                    && balancer_down(&site.state).is_empty()
            },
        );
    }
    let seen = load.finish();
    let failed: Vec<&String> = seen.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed while containers were killed, first: {:?}",
        failed.len(),
        seen.len(),
        failed.first()
    );
    assert!(seen.len() > 10, "the load ran: {}", seen.len());
    assert!(seen.iter().all(|r| r.as_deref() == Ok("v1")));
}

/// Each container's health, as `status --json` reports it.
fn healths(status: &serde_json::Value) -> Vec<String> {
    status["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["health"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// When the engine last started the container.
fn started_at(container: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "-f", "{{.State.StartedAt}}", container])
        .output()
        .expect("docker inspect");
    text(&out.stdout).trim().to_string()
}
