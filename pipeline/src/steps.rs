//! Each flow's steps and what they took, recorded as they finish while the caller's
//! [`Progress`] shows them, so a report can list them afterwards.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use galley_infra::rollout::Progress;
use serde::Serialize;

/// One finished step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub step: String,
    pub seconds: f64,
}

/// Passes every event on to `shown` and keeps the finished steps.
pub struct Steps<'a> {
    shown: &'a dyn Progress,
    started: Instant,
    done: Mutex<Vec<Step>>,
}

impl<'a> Steps<'a> {
    pub fn new(shown: &'a dyn Progress) -> Steps<'a> {
        Steps {
            shown,
            started: Instant::now(),
            done: Mutex::new(Vec::new()),
        }
    }

    /// Every finished step so far, in order, and the time since the flow started.
    pub fn finish(&self) -> (Vec<Step>, f64) {
        let steps = self.done.lock().map(|s| s.clone()).unwrap_or_default();
        (steps, self.started.elapsed().as_secs_f64())
    }
}

impl Progress for Steps<'_> {
    fn step(&self, name: &str) {
        self.shown.step(name);
    }

    fn done(&self, name: &str, took: Duration) {
        self.shown.done(name, took);
        if let Ok(mut s) = self.done.lock() {
            s.push(Step {
                step: name.to_string(),
                seconds: took.as_secs_f64(),
            });
        }
    }

    fn waiting(&self, line: &str) {
        self.shown.waiting(line);
    }
}
