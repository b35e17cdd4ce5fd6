//! The rollout engine driven through fakes of its traits: the order of its calls on the
//! happy path, the canary, a failing health gate, and a failure at every step, each of which
//! must leave the previous release serving and nothing new behind.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use galley_infra::rollout::{
    rollout, Compute, HealthGate, HealthState, Live, LoadBalancer, Plan, Progress, Target,
    TargetHealth,
};
use galley_infra::Release;

/// Every call the engine made, in order, and the step to fail (by call name, once).
#[derive(Default)]
struct World {
    calls: Mutex<Vec<String>>,
    fail_at: Option<&'static str>,
    failed: std::sync::atomic::AtomicBool,
    healthy: bool,
    live: Mutex<Option<Live>>,
}

impl World {
    fn call(&self, what: String) -> anyhow::Result<()> {
        let name = what.split(' ').next().unwrap_or_default().to_string();
        self.calls.lock().expect("calls").push(what);
        if self.fail_at == Some(name.as_str())
            && !self.failed.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            anyhow::bail!("injected failure at {name}");
        }
        Ok(())
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    fn position(&self, call: &str) -> usize {
        self.calls()
            .iter()
            .position(|c| c == call)
            .unwrap_or_else(|| panic!("no call {call} in {:?}", self.calls()))
    }
}

#[async_trait]
impl Compute for World {
    async fn launch(&self, release: &Release, _group: &str) -> anyhow::Result<Vec<Target>> {
        self.call(format!("launch {}", release.id))?;
        Ok(vec![
            Target {
                id: "i-1".into(),
                zone: "a".into(),
            },
            Target {
                id: "i-2".into(),
                zone: "b".into(),
            },
        ])
    }
    async fn wait_running(&self, _: &[Target]) -> anyhow::Result<()> {
        self.call("wait_running".into())
    }
    async fn terminate(&self, release_id: &str) -> anyhow::Result<()> {
        self.call(format!("terminate {release_id}"))
    }
    async fn diagnostics(&self, _: &[Target]) -> String {
        "console says: boom".into()
    }
}

#[async_trait]
impl LoadBalancer for World {
    async fn create_group(&self, release: &Release) -> anyhow::Result<String> {
        self.call(format!("create_group {}", release.id))?;
        Ok(format!("g-{}", release.id))
    }
    async fn register(&self, group: &str, _: &[Target]) -> anyhow::Result<()> {
        self.call(format!("register {group}"))
    }
    async fn forward(&self, weights: &[(String, u8)]) -> anyhow::Result<()> {
        let text: Vec<String> = weights.iter().map(|(g, w)| format!("{g}={w}")).collect();
        self.call(format!("forward {}", text.join(",")))?;
        if let [(group, 100)] = weights {
            let release_id = group.trim_start_matches("g-").to_string();
            *self.live.lock().expect("live") = Some(Live {
                group: group.clone(),
                release_id,
            });
        }
        Ok(())
    }
    async fn live(&self) -> anyhow::Result<Option<Live>> {
        Ok(self.live.lock().expect("live").clone())
    }
    async fn drain(&self, group: &str) -> anyhow::Result<()> {
        self.call(format!("drain {group}"))
    }
    async fn delete_group(&self, group: &str) -> anyhow::Result<()> {
        self.call(format!("delete_group {group}"))
    }
}

#[async_trait]
impl HealthGate for World {
    async fn health(&self, _: &str, targets: &[Target]) -> anyhow::Result<Vec<TargetHealth>> {
        self.call("health".into())?;
        Ok(targets
            .iter()
            .map(|t| TargetHealth {
                id: t.id.clone(),
                state: if self.healthy {
                    HealthState::Healthy
                } else {
                    HealthState::Unhealthy
                },
                reason: (!self.healthy).then(|| "Target.FailedHealthChecks".to_string()),
            })
            .collect())
    }
}

impl Progress for World {
    fn step(&self, _: &str) {}
    fn done(&self, _: &str, _: Duration) {}
    fn waiting(&self, _: &str) {}
}

fn plan(canary: Option<(u8, Duration)>) -> Plan {
    let mut release = Release::new(
        &format!("sha256:{}", "b".repeat(64)),
        "repo",
        chrono::Utc::now(),
    );
    release.id = "new".into();
    Plan {
        release,
        health_timeout: Duration::from_millis(50),
        poll: Duration::from_millis(5),
        report_every: Duration::from_millis(20),
        canary,
    }
}

/// A world where release `old` is live.
fn serving_old(fail_at: Option<&'static str>, healthy: bool) -> World {
    World {
        fail_at,
        healthy,
        live: Mutex::new(Some(Live {
            group: "g-old".into(),
            release_id: "old".into(),
        })),
        ..World::default()
    }
}

async fn run(
    world: &World,
    plan: &Plan,
) -> Result<galley_infra::rollout::Outcome, galley_infra::rollout::RolloutError> {
    rollout(plan, world, world, world, world).await
}

#[tokio::test]
async fn the_happy_path_switches_after_the_gate_then_drains_before_terminating() {
    let w = serving_old(None, true);
    let outcome = run(&w, &plan(None)).await.expect("rollout");
    assert_eq!(
        outcome.previous.map(|p| p.release_id).as_deref(),
        Some("old")
    );
    let order = [
        "create_group new",
        "launch new",
        "wait_running",
        "register g-new",
        "health",
        "forward g-new=100",
        "drain g-old",
        "terminate old",
        "delete_group g-old",
    ];
    let positions: Vec<usize> = order.iter().map(|c| w.position(c)).collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "{:?}", w.calls());
    assert_eq!(
        w.live
            .lock()
            .expect("live")
            .as_ref()
            .map(|l| l.release_id.clone())
            .as_deref(),
        Some("new")
    );
}

#[tokio::test]
async fn a_canary_splits_then_gates_again_before_the_full_switch() {
    let w = serving_old(None, true);
    run(&w, &plan(Some((10, Duration::from_millis(20)))))
        .await
        .expect("rollout");
    let split = w.position("forward g-new=10,g-old=90");
    let full = w.position("forward g-new=100");
    assert!(split < full);
    let gates_between = w.calls()[split..full]
        .iter()
        .filter(|c| *c == "health")
        .count();
    assert!(gates_between >= 2, "{:?}", w.calls());
}

#[tokio::test]
async fn a_gate_that_never_passes_rolls_back_and_never_switches() {
    let w = serving_old(None, false);
    let err = run(&w, &plan(None)).await.expect_err("unhealthy");
    assert!(err.unhealthy && err.rolled_back, "{err:?}");
    assert!(err.detail.contains("Target.FailedHealthChecks"), "{err}");
    assert!(
        err.detail.contains("console says: boom"),
        "diagnostics attached: {err}"
    );
    assert!(
        !w.calls().iter().any(|c| c == "forward g-new=100"),
        "{:?}",
        w.calls()
    );
    assert!(w.position("terminate new") < w.position("delete_group g-new"));
    assert_eq!(
        w.live
            .lock()
            .expect("live")
            .as_ref()
            .map(|l| l.group.clone())
            .as_deref(),
        Some("g-old")
    );
}

#[tokio::test]
async fn a_failure_at_any_step_before_the_switch_leaves_the_old_release_and_nothing_new() {
    for step in [
        "create_group",
        "launch",
        "wait_running",
        "register",
        "health",
        "forward",
    ] {
        let w = serving_old(Some(step), true);
        let err = run(&w, &plan(Some((10, Duration::from_millis(10)))))
            .await
            .expect_err(step);
        assert!(err.rolled_back, "{step}: {err:?}");
        assert!(err.detail.contains("injected failure"), "{step}: {err}");
        let calls = w.calls();
        assert!(
            calls.iter().any(|c| c == "terminate new"),
            "{step}: {calls:?}"
        );
        if step != "create_group" {
            assert!(
                calls.iter().any(|c| c == "delete_group g-new"),
                "{step}: {calls:?}"
            );
        }
        assert!(
            !calls
                .iter()
                .any(|c| c.starts_with("terminate old") || c == "drain g-old"),
            "{step}: {calls:?}"
        );
        // The listener's last word is the old release (or nothing was ever changed).
        let last_forward = calls.iter().rev().find(|c| c.starts_with("forward"));
        assert!(
            last_forward.is_none_or(|f| f == "forward g-old=100"
                || (step == "forward" && f.starts_with("forward g-new=10,"))),
            "{step}: {calls:?}"
        );
    }
}
