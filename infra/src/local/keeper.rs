//! The local target's counterpart of an Auto Scaling group: it keeps the live release's
//! containers running. Docker's restart policy brings back a container whose server
//! crashed, but not one stopped from outside (`docker kill`, `docker stop`, an engine that
//! gave up): the keeper, inside the balancer, starts those again. The balancer's health
//! probe then takes a restarted container back into rotation only once its health path
//! answers.

use std::time::Duration;

use bollard::query_parameters::StartContainerOptions;
use bollard::Docker;

use super::containers;

/// How often the live release's containers are checked.
pub const KEEP_EVERY: Duration = Duration::from_secs(1);

/// Container states the keeper starts again; the rest are running, on their way (Docker
/// restarting one), or being removed by Galley.
fn stopped(state: &str) -> bool {
    matches!(state, "exited" | "created")
}

/// Forever: every [`KEEP_EVERY`], starts any stopped container of the releases `live`
/// names (those taking traffic; a release still being health-gated is left alone, so a
/// server that cannot start fails its gate instead of being restarted). `say` hears what
/// was restarted and what failed.
pub async fn keep(
    docker: Docker,
    site: String,
    live: impl Fn() -> Vec<String>,
    say: impl Fn(&str),
) {
    let mut tick = tokio::time::interval(KEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let releases = live();
        if releases.is_empty() {
            continue;
        }
        let found = match containers::list(&docker, &site, None).await {
            Ok(found) => found,
            Err(e) => {
                say(&format!("keeper: {e:#}"));
                continue;
            }
        };
        for c in found
            .iter()
            .filter(|c| releases.contains(&c.release) && stopped(&c.state))
        {
            match docker
                .start_container(&c.id, None::<StartContainerOptions>)
                .await
            {
                Ok(()) => say(&format!(
                    "keeper: restarted {} ({} was {})",
                    c.name, c.release, c.state
                )),
                Err(e) => say(&format!("keeper: could not restart {}: {e}", c.name)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stopped_containers_are_started_again() {
        assert!(stopped("exited") && stopped("created"));
        for busy in ["running", "restarting", "removing", "paused", "dead"] {
            assert!(!stopped(busy), "{busy}");
        }
    }
}
