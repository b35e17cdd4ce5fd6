//! `galley-server` against nginx on the same files, with wrk, in one run: a 10 KB page, a
//! 1 MB asset and a 404, each with and without `Accept-Encoding: br, gzip`. Both servers get
//! the same precompressed `.br`/`.gz` files (nginx through gzip_static and brotli_static).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::synth::Lcg;

pub struct Options {
    pub galley_server: PathBuf,
    pub work: PathBuf,
    pub seconds: u32,
    pub connections: u32,
    pub server_args: Vec<String>,
    /// wrk runs per server and row; the table gives medians.
    pub trials: u32,
    /// The open-loop runs' rate, as a fraction of nginx's req/s in the row (0: none).
    pub paced_load: f64,
    /// Keep wrk on CPUs of its own (see [`Cpus`]); off, everything shares every core.
    pub pin: bool,
    /// Both servers write their access log (to /dev/null), as deployed: galley-server's
    /// default, nginx's default `combined` format.
    pub access_log: bool,
}

/// Which CPUs the servers and wrk get. A load generator on the servers' cores steals their
/// time slices: the p99 it reports then measures the scheduler (a preempted worker's
/// connections wait a whole slice), not the server. So wrk gets the last quarter of the CPUs
/// (at least one) and both servers the rest, each with one worker per CPU it has.
struct Cpus {
    /// `taskset -c` lists, or none when not pinning.
    servers: Option<String>,
    wrk: Option<String>,
    /// The same as `wrk`, as numbers, for the open-loop generator's thread.
    wrk_cpus: Option<Vec<usize>>,
    server_count: usize,
    wrk_threads: usize,
}

impl Cpus {
    fn plan(pin: bool) -> Cpus {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        if !pin || n < 2 {
            return Cpus {
                servers: None,
                wrk: None,
                wrk_cpus: None,
                server_count: n,
                wrk_threads: 2,
            };
        }
        let wrk = n.div_ceil(4);
        let servers = n - wrk;
        Cpus {
            servers: Some(format!("0-{}", servers - 1)),
            wrk: Some(format!("{servers}-{}", n - 1)),
            wrk_cpus: Some((servers..n).collect()),
            server_count: servers,
            wrk_threads: wrk,
        }
    }

    /// `program` under `taskset -c list` (or as is).
    fn command(list: &Option<String>, program: impl AsRef<std::ffi::OsStr>) -> Command {
        match list {
            Some(list) => {
                let mut c = Command::new("taskset");
                c.args(["-c", list]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

struct Running(Child);

impl Drop for Running {
    /// SIGTERM first: a SIGKILLed nginx master leaves its workers running (they keep their
    /// pinned CPU and their port), which skewed later runs on the same machine.
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.0.id()) {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            for _ in 0..500 {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One wrk result.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub rps: f64,
    pub p99_ms: f64,
    /// wrk's own CPU time over its wall time, in percent of one CPU: near 100% per wrk thread
    /// means the client, not the server, set the pace (and part of the latency).
    pub wrk_cpu: f64,
}

pub fn run(o: &Options) -> Result<()> {
    let root = o.work.join("serve-root");
    write_site(&root)?;
    let galley_port = free_port()?;
    let nginx_port = free_port()?;
    let cpus = Cpus::plan(o.pin);
    let _galley = start_galley(o, &root, galley_port, &cpus)?;
    let _nginx = start_nginx(&o.work, &root, nginx_port, &cpus, o.access_log)?;
    wait_ready(galley_port)?;
    wait_ready(nginx_port)?;
    match (&cpus.servers, &cpus.wrk) {
        (Some(s), Some(w)) => println!(
            "Servers on CPUs {s} ({} worker(s) each), wrk on CPUs {w} ({} thread(s)).\n",
            cpus.server_count, cpus.wrk_threads
        ),
        _ => println!(
            "Servers and wrk share all {} CPUs (not pinned).\n",
            cpus.server_count
        ),
    }
    println!(
        "Medians of {} trials of {} s each, the servers alternating; p99 with its range; wrk's CPU use against each. Access logs {}.\n",
        o.trials.max(1),
        o.seconds,
        if o.access_log { "on (both to /dev/null)" } else { "off" }
    );
    println!("| request | Accept-Encoding | Galley req/s | nginx req/s | req/s ratio | Galley p99 | nginx p99 | wrk CPU (Galley / nginx) |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let mut paced_rows = Vec::new();
    for (label, path) in [
        ("10 KB page", "/page.html"),
        ("1 MB asset", "/asset.jpg"),
        ("404", "/missing"),
    ] {
        for ae in [false, true] {
            let (g, n) = alternating(
                o.trials,
                |port| wrk(port, path, ae, o, &cpus),
                galley_port,
                nginx_port,
            )?;
            let (g, n) = (Summary::of(&g), Summary::of(&n));
            let ae_text = if ae { "br, gzip" } else { "none" };
            println!(
                "| {label} | {ae_text} | {:.0} | {:.0} | {:.2}× | {} | {} | {:.0}% / {:.0}% |",
                g.rps,
                n.rps,
                g.rps / n.rps,
                g.p99_text(),
                n.p99_text(),
                g.wrk_cpu,
                n.wrk_cpu,
            );
            if o.paced_load > 0.0 {
                let rate = (n.rps * o.paced_load).round();
                let (pg, pn) = paced_pair(galley_port, nginx_port, path, ae, rate, o, &cpus)?;
                paced_rows.push(format!(
                    "| {label} | {ae_text} | {rate:.0} | {} | {} |",
                    pg.text(),
                    pn.text()
                ));
            }
        }
    }
    if !paced_rows.is_empty() {
        println!(
            "\nOpen loop, one schedule for both servers ({:.0}% of nginx's req/s in the row above, {} connections, latency from each request's due time; median of {} runs each): p50 / p90 / p99 / p99.9 in ms.\n",
            o.paced_load * 100.0,
            o.connections,
            o.trials.max(1)
        );
        println!("| request | Accept-Encoding | req/s | Galley | nginx |");
        println!("|---|---|---:|---|---|");
        for row in paced_rows {
            println!("{row}");
        }
    }
    Ok(())
}

/// Open-loop runs against both servers at `rate`, alternating; medians per percentile.
fn paced_pair(
    galley_port: u16,
    nginx_port: u16,
    path: &str,
    accept_encoding: bool,
    rate: f64,
    o: &Options,
    cpus: &Cpus,
) -> Result<(PacedSummary, PacedSummary)> {
    let run = |port| {
        crate::paced::run(&crate::paced::Plan {
            port,
            path,
            accept_encoding,
            connections: o.connections as usize,
            rate,
            duration: Duration::from_secs(u64::from(o.seconds)),
            warmup: Duration::from_secs(1),
            cpus: cpus.wrk_cpus.clone(),
        })
    };
    let (g, n) = alternating(o.trials, run, galley_port, nginx_port)?;
    Ok((PacedSummary::of(&g), PacedSummary::of(&n)))
}

/// `trials` runs of `measure` against each server (at least one), alternating which goes
/// first, so drift in the machine (another tenant, a kernel thread) falls on both alike.
fn alternating<T>(
    trials: u32,
    mut measure: impl FnMut(u16) -> Result<T>,
    galley_port: u16,
    nginx_port: u16,
) -> Result<(Vec<T>, Vec<T>)> {
    let (mut g, mut n) = (Vec::new(), Vec::new());
    for trial in 0..trials.max(1) {
        if trial % 2 == 0 {
            g.push(measure(galley_port)?);
            n.push(measure(nginx_port)?);
        } else {
            n.push(measure(nginx_port)?);
            g.push(measure(galley_port)?);
        }
    }
    Ok((g, n))
}

struct PacedSummary([f64; 4], f64);

impl PacedSummary {
    fn of(runs: &[crate::paced::Latency]) -> PacedSummary {
        let median = |f: fn(&crate::paced::Latency) -> f64| median(runs.iter().map(f));
        PacedSummary(
            [
                median(|l| l.p50_ms),
                median(|l| l.p90_ms),
                median(|l| l.p99_ms),
                median(|l| l.p999_ms),
            ],
            median(|l| l.achieved_rps),
        )
    }

    fn text(&self) -> String {
        let [a, b, c, d] = self.0;
        format!(
            "{a:.2} / {b:.2} / **{c:.2}** / {d:.2} ({:.0} req/s)",
            self.1
        )
    }
}

/// The middle value (the upper one of an even count); NaN for none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Medians over a row's trials, and the spread of p99: at these rates one 8 s run's p99 moves
/// by more than the servers differ.
struct Summary {
    rps: f64,
    p99_ms: f64,
    p99_min: f64,
    p99_max: f64,
    wrk_cpu: f64,
}

impl Summary {
    fn of(loads: &[Load]) -> Summary {
        let median = |f: fn(&Load) -> f64| median(loads.iter().map(f));
        let p99s = loads.iter().map(|l| l.p99_ms);
        Summary {
            rps: median(|l| l.rps),
            p99_ms: median(|l| l.p99_ms),
            p99_min: p99s.clone().fold(f64::INFINITY, f64::min),
            p99_max: p99s.fold(0.0, f64::max),
            wrk_cpu: median(|l| l.wrk_cpu),
        }
    }

    fn p99_text(&self) -> String {
        if self.p99_min == self.p99_max {
            format!("{:.2} ms", self.p99_ms)
        } else {
            format!(
                "{:.2} ms ({:.2}–{:.2})",
                self.p99_ms, self.p99_min, self.p99_max
            )
        }
    }
}

/// The files: a 10 KB HTML page (with .br and .gz made ahead, as the image writer will), an
/// incompressible 1 MB asset, and a 404 page.
fn write_site(root: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root)?;
    let mut rng = Lcg::new(7);
    let mut page =
        String::from("<!doctype html><html><head><title>Bench page</title></head><body><main>");
    while page.len() < 10 * 1024 - 40 {
        page.push_str(&format!(
            "<p>Paragraph {} of the benchmark page, with some words.</p>\n",
            rng.next() % 1000
        ));
    }
    page.push_str("</main></body></html>\n");
    std::fs::write(root.join("page.html"), &page)?;
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut page.as_bytes(), &mut br, &params)?;
    std::fs::write(root.join("page.html.br"), br)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(page.as_bytes())?;
    std::fs::write(root.join("page.html.gz"), gz.finish()?)?;
    let asset: Vec<u8> = (0..1024 * 1024)
        .map(|_| (rng.next() & 0xff) as u8)
        .collect();
    std::fs::write(root.join("asset.jpg"), asset)?;
    std::fs::write(
        root.join("404.html"),
        "<!doctype html><title>Not found</title><h1>Not found</h1>\n",
    )?;
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start_galley(o: &Options, root: &Path, port: u16, cpus: &Cpus) -> Result<Running> {
    let bin = &o.galley_server;
    // Workers default to one per CPU the process may use, so pinning sizes them too.
    let child = Cpus::command(&cpus.servers, bin)
        .arg("--root")
        .arg(root)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args((!o.access_log).then_some("--no-access-log"))
        .args(&o.server_args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok(Running(child))
}

/// nginx as the issue asks: `worker_processes auto`, sendfile, gzip_static (and brotli_static),
/// keep-alive, its access log as galley-server's (both off, or both on to /dev/null, nginx
/// unbuffered as by default). When pinned, the
/// worker count is written out: nginx 1.22's `auto` counts every online CPU, not those it
/// may run on, and would start two workers on one core.
fn start_nginx(
    work: &Path,
    root: &Path,
    port: u16,
    cpus: &Cpus,
    access_log: bool,
) -> Result<Running> {
    let prefix = std::path::absolute(work.join("nginx"))?;
    std::fs::create_dir_all(prefix.join("logs"))?;
    let brotli_module = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so";
    if !Path::new(brotli_module).is_file() {
        bail!("nginx's brotli_static module is missing: apt-get install libnginx-mod-http-brotli-static");
    }
    let modules = format!("load_module {brotli_module};");
    let conf = format!(
        "{modules}\nworker_processes {workers};\ndaemon off;\npid {pid};\nerror_log {err} warn;\nevents {{ worker_connections 4096; }}\nhttp {{\n  include /etc/nginx/mime.types;\n  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n  keepalive_timeout 65;\n  keepalive_requests 1000000;\n  access_log {log};\n  gzip_static on;\n  brotli_static on;\n  server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    error_page 404 /404.html;\n    location / {{ try_files $uri $uri/ =404; }}\n  }}\n}}\n",
        workers = if cpus.servers.is_some() {
            cpus.server_count.to_string()
        } else {
            "auto".to_string()
        },
        log = if access_log { "/dev/null" } else { "off" },
        pid = prefix.join("nginx.pid").display(),
        err = prefix.join("logs/error.log").display(),
        root = root.canonicalize()?.display(),
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Cpus::command(&cpus.servers, "nginx")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting nginx (apt-get install nginx libnginx-mod-http-brotli-static)")?;
    Ok(Running(child))
}

/// Connects until the server answers; bounded.
fn wait_ready(port: u16) -> Result<()> {
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    bail!("nothing listening on port {port}")
}

fn wrk(port: u16, path: &str, accept_encoding: bool, o: &Options, cpus: &Cpus) -> Result<Load> {
    let mut cmd = Cpus::command(&cpus.wrk, "wrk");
    cmd.args([
        &format!("-t{}", cpus.wrk_threads),
        &format!("-c{}", o.connections),
        &format!("-d{}s", o.seconds),
        "--latency",
    ]);
    if accept_encoding {
        cmd.args(["-H", "Accept-Encoding: br, gzip"]);
    }
    cmd.arg(format!("http://127.0.0.1:{port}{path}"));
    let (text, wrk_cpu) = output_with_cpu(cmd).context("running wrk (apt-get install wrk)")?;
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .with_context(|| format!("no Requests/sec in wrk output:\n{text}"))?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| to_ms(v.trim()))
        .with_context(|| format!("no 99% latency in wrk output:\n{text}"))?;
    if text.contains("Non-2xx or 3xx responses") && !path.contains("missing") {
        bail!("errors from the server under load:\n{text}");
    }
    Ok(Load {
        rps,
        p99_ms: p99,
        wrk_cpu,
    })
}

/// Runs `cmd` to its end and returns its stdout and the CPU it used (user + system, from
/// `wait4`), in percent of its wall time.
fn output_with_cpu(mut cmd: Command) -> Result<(String, f64)> {
    use std::io::Read;
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let started = std::time::Instant::now();
    let mut child = cmd.spawn()?;
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut text)?;
    }
    let (status, usage) = crate::measure::wait(&child)?;
    let wall = started.elapsed().as_secs_f64();
    if !crate::measure::succeeded(status) {
        bail!("exited with {status}:\n{text}");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = secs(usage.ru_utime) + secs(usage.ru_stime);
    Ok((text, 100.0 * cpu / wall.max(1e-9)))
}

/// wrk prints `812.00us`, `1.23ms`, `1.02s`.
fn to_ms(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}
