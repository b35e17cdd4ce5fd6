//! Progress lines on stderr, each with the time since the command started.

use std::time::{Duration, Instant};

use galley_infra::rollout::Progress;

pub struct Lines {
    started: Instant,
}

impl Lines {
    pub fn new() -> Lines {
        Lines {
            started: Instant::now(),
        }
    }

    fn stamp(&self) -> String {
        format!("[{:>6.1}s]", self.started.elapsed().as_secs_f64())
    }
}

impl Progress for Lines {
    fn step(&self, name: &str) {
        eprintln!("{} {name} …", self.stamp());
    }
    fn done(&self, name: &str, took: Duration) {
        eprintln!(
            "{} {name}: done in {:.1}s",
            self.stamp(),
            took.as_secs_f64()
        );
    }
    fn waiting(&self, line: &str) {
        eprintln!("{} {line}", self.stamp());
    }
}
