//! `deploy:`: resource limits and reservations everywhere; replicas, restart, update and
//! rollback policies and placement only on swarm (on a compose host they are refused).

use super::file::{Deploy, Labels, Resources, RestartPolicyDef, UpdateDef};
use super::{Emitter, bytes, dur};
use sparkc_core::model::*;

impl Emitter<'_> {
    pub(super) fn deploy(&mut self, s: &Service, labels: Labels) -> Deploy {
        let mut d = Deploy {
            labels,
            ..Deploy::default()
        };
        if let Some(r) = s.replicas {
            if s.container_name.is_some() && r > 1 {
                self.unsupported(
                    s,
                    "replicas",
                    format!("`{}` has a fixed container_name and {r} replicas", s.name),
                    "containers need distinct names: remove `container_name`",
                );
            }
            d.replicas = Some(r);
        }
        d.limits = Resources {
            cpus: s.cpus.map(|c| format!("{c}")),
            memory: s.memory.map(bytes),
        };
        d.reservations = Resources {
            cpus: s.reserve_cpus.map(|c| format!("{c}")),
            memory: s.reserve_memory.map(bytes),
        };
        let swarm_only = [
            ("update", s.update.is_some()),
            ("rollback", s.rollback.is_some()),
            ("placement", !s.placement.is_empty()),
            ("restart_policy", s.restart_policy.is_some()),
        ];
        if !self.swarm() {
            for (field, set) in swarm_only {
                if set {
                    self.unsupported(
                        s,
                        field,
                        format!(
                            "`{field}` of `{}` only applies to swarm; host `{}` runs compose",
                            s.name, self.host.name
                        ),
                        "remove it, or set `runtime = swarm` on the host",
                    );
                }
            }
            return d;
        }
        if let Some(rp) = &s.restart_policy {
            d.restart_policy = Some(RestartPolicyDef {
                condition: rp.condition.clone(),
                delay: rp.delay.map(dur),
                max_attempts: rp.max_attempts,
                window: rp.window.map(dur),
            });
        } else if let Some(r) = s.restart {
            let cond = match r {
                Restart::No => "none",
                Restart::OnFailure => "on-failure",
                Restart::Always | Restart::UnlessStopped => "any",
            };
            d.restart_policy = Some(RestartPolicyDef {
                condition: Some(cond.to_string()),
                ..RestartPolicyDef::default()
            });
        }
        let policy = |u: &UpdatePolicy| UpdateDef {
            parallelism: u.parallelism,
            delay: u.delay.map(dur),
            failure_action: u.failure_action.clone(),
            monitor: u.monitor.map(dur),
            max_failure_ratio: u.max_failure_ratio,
            order: u.order.clone(),
        };
        d.update_config = s.update.as_deref().map(policy);
        d.rollback_config = s.rollback.as_deref().map(policy);
        d.placement.clone_from(&s.placement);
        d
    }
}
