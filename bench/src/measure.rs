//! Running a peer's command and measuring it: wall time, and peak resident memory from the
//! kernel's own accounting for that child (`wait4`'s rusage).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub wall: Duration,
    pub max_rss_kib: u64,
    /// Bytes the tool wrote to its output folder (0 where not measured).
    pub output_bytes: u64,
}

/// Runs `cmd` once with output discarded; fails if it exits non-zero.
pub fn run(mut cmd: Command, label: &str) -> Result<Sample> {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {label}"))?;
    // Read stderr while the child runs: a tool that writes more than the pipe holds would
    // otherwise block on it forever.
    let stderr = child.stderr.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut err);
            err
        })
    });
    let (status, usage) = wait(&child).with_context(|| format!("waiting for {label}"))?;
    let wall = started.elapsed();
    let err = stderr
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    if !succeeded(status) {
        bail!(
            "{label} failed: {}",
            err.lines().take(20).collect::<Vec<_>>().join("\n")
        );
    }
    Ok(Sample {
        wall,
        max_rss_kib: usage.ru_maxrss as u64,
        output_bytes: 0,
    })
}

/// Waits for `child` with `wait4`, for its exit status and the kernel's accounting of it
/// (peak memory, CPU time). The `Child` must not be waited on again.
pub fn wait(child: &std::process::Child) -> Result<(libc::c_int, libc::rusage)> {
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data the kernel fills in; `pid` is our own child, waited for
    // exactly once here.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if rc < 0 {
        bail!("{}", std::io::Error::last_os_error());
    }
    Ok((status, usage))
}

/// Whether a `wait4` status is a normal exit with code 0.
pub fn succeeded(status: libc::c_int) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// A tool to measure: its label and how to make its command writing into a given folder.
pub struct Tool<'a> {
    pub label: String,
    pub runs: usize,
    pub make: Box<dyn Fn(&Path) -> Command + 'a>,
}

/// Output folders for timed runs, one new folder per run. On a disk, deleting a tree is
/// not free: this VM's root filesystem is mounted with `discard` and no journal, so every
/// freed block is discarded as it is freed, and removing a 10k-post output took 4 to 90 s
/// and slowed whatever wrote next. A run that followed the previous run's deletion
/// measured the disk's backlog, not the tool. So on a disk every run gets a folder nothing
/// was deleted under, and all of them are removed when the bench ends, untimed. On tmpfs,
/// where deletion costs nothing and outputs take memory, each is removed at once.
pub struct Outputs {
    base: PathBuf,
    on_tmpfs: bool,
    made: Vec<PathBuf>,
}

impl Outputs {
    pub fn new(base: &Path) -> Result<Outputs> {
        std::fs::create_dir_all(base).with_context(|| format!("creating {}", base.display()))?;
        let base = std::path::absolute(base)?;
        Ok(Outputs {
            on_tmpfs: is_tmpfs(&base),
            base,
            made: Vec::new(),
        })
    }

    /// A folder that does not exist yet, for the next run to write into.
    pub fn fresh(&mut self, label: &str) -> PathBuf {
        let name: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let dir = self.base.join(format!("{}-{name}", self.made.len()));
        remove_output(&dir);
        self.made.push(dir.clone());
        dir
    }

    /// A run is measured and its output no longer needed.
    pub fn done_with(&mut self, dir: &Path) {
        if self.on_tmpfs {
            remove_output(dir);
        }
    }

    pub fn on_tmpfs(&self) -> bool {
        self.on_tmpfs
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for dir in &self.made {
            remove_output(dir);
        }
    }
}

/// Removes a build's output and the spare a rebuild kept beside it.
fn remove_output(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(galley_atomic::spare_of(dir));
}

fn is_tmpfs(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `statfs` fills plain data from a NUL-terminated path we own.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut fs) };
    rc == 0 && fs.f_type == libc::TMPFS_MAGIC
}

/// Runs the tools in rounds, rotating their order each round, so that no tool always runs
/// after the same other. Each run writes into a fresh folder (see [`Outputs`]). Returns,
/// per tool, the median wall time and the highest peak memory.
pub fn interleaved(tools: &[Tool], outputs: &mut Outputs) -> Result<Vec<Sample>> {
    let rounds = tools.iter().map(|t| t.runs).max().unwrap_or(0);
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); tools.len()];
    for round in 0..rounds {
        for k in 0..tools.len() {
            let i = (k + round) % tools.len();
            let tool = &tools[i];
            if samples[i].len() >= tool.runs {
                continue;
            }
            let out = outputs.fresh(&tool.label);
            // Flush the previous run's writes so no tool pays for another's writeback.
            // SAFETY: sync(2) takes no arguments and cannot fail.
            unsafe { libc::sync() };
            let mut sample = run((tool.make)(&out), &tool.label)?;
            sample.output_bytes = dir_size(&out);
            outputs.done_with(&out);
            eprintln!(
                "{}: {:.2} s, {} KiB",
                tool.label,
                sample.wall.as_secs_f64(),
                sample.max_rss_kib
            );
            samples[i].push(sample);
        }
    }
    Ok(samples
        .into_iter()
        .map(|mut s| {
            s.sort_by_key(|x| x.wall);
            Sample {
                wall: s[s.len() / 2].wall,
                max_rss_kib: s.iter().map(|x| x.max_rss_kib).max().unwrap_or(0),
                output_bytes: s.iter().map(|x| x.output_bytes).max().unwrap_or(0),
            }
        })
        .collect())
}

/// Bytes in the regular files under `dir` (what a tool wrote).
pub fn dir_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
