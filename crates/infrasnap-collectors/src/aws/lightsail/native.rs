//! `--lightsail-snapshot`: a native Lightsail snapshot of every instance, named after ours
//! (`wire::native_snapshot_name`): the only write infrasnap ever makes to a cloud account.
//!
//! CreateInstanceSnapshot per instance listed, unless a snapshot of that name already exists (a
//! run resumed after Ctrl-C, or the same label twice): then it is recorded, not made again. With
//! `--lightsail-wait`, GetInstanceSnapshot is polled (through the rate limiter, every 2 s at first,
//! then up to every [`MAX_POLL_INTERVAL`]) until each is `available` or `error`, or the time is
//! up: a timeout is recorded (`timedOut`), not an error. A snapshot that ends in `error`, or that
//! could not be created, is a recorded error. `created_snapshots.json` lists them per region.

use infrasnap_core::manifest::{Blocks, Table};
use std::time::{Duration, Instant};

use aws_sdk_lightsail::Client;
use infrasnap_core::engine::{ErrorSink, RunContext};
use serde_json::{json, Value};

use super::collect::{InstanceRow, RegionResult, ERR};
use super::wire::native_snapshot_name;
use super::LightsailCollector;
use crate::aws::sdk_error::{describe, ApiFailure};

/// First wait before polling.
const FIRST_POLL: Duration = Duration::from_secs(2);
/// Longest wait between two polls of the same snapshot.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(15);

/// One native snapshot asked for.
#[derive(Debug, Clone)]
pub(super) struct NativeSnapshot {
    pub instance: String,
    pub instance_arn: String,
    pub name: String,
    /// `pending`, `available`, `error`, or `not created`.
    pub state: String,
    /// This run created it.
    pub created: bool,
    /// It existed before this run (same name): recorded, not created again.
    pub already_existed: bool,
    /// Its state was polled until settled or the wait ran out.
    pub waited: bool,
    pub timed_out: bool,
    pub error: Option<ApiFailure>,
}

impl LightsailCollector {
    /// Start a native snapshot of each instance in `rows`. `existing` is the region's instance
    /// snapshot listing, when it was read whole.
    pub(super) async fn create_native(
        &self,
        client: &Client,
        region: &str,
        rows: &[InstanceRow],
        existing: Option<&[Value]>,
        errors: &ErrorSink,
    ) -> Vec<NativeSnapshot> {
        let mut out = Vec::new();
        for row in rows {
            let name = native_snapshot_name(&self.options.snapshot_name, &row.name);
            let mut snap = NativeSnapshot {
                instance: row.name.clone(),
                instance_arn: row.arn.clone(),
                name: name.clone(),
                state: "not created".into(),
                created: false,
                already_existed: false,
                waited: false,
                timed_out: false,
                error: None,
            };
            if let Some(prev) = existing
                .unwrap_or(&[])
                .iter()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(name.as_str()))
            {
                snap.already_existed = true;
                snap.state = prev
                    .get("state")
                    .and_then(Value::as_str)
                    .unwrap_or("pending")
                    .to_string();
                out.push(snap);
                continue;
            }
            self.limit().await;
            let resource = if row.arn.is_empty() {
                format!(
                    "arn:aws:lightsail:{region}:{}:Instance/{}",
                    self.scope.account_id, row.name
                )
            } else {
                row.arn.clone()
            };
            match client
                .create_instance_snapshot()
                .instance_name(&row.name)
                .instance_snapshot_name(&name)
                .send()
                .await
            {
                Ok(_) => {
                    tracing::info!("{region}: native snapshot {name} of {} started", row.name);
                    snap.created = true;
                    snap.state = "pending".into();
                }
                Err(e) => {
                    let f = describe(&e);
                    errors.record(ERR.api("lightsail:CreateInstanceSnapshot", &resource, &f));
                    snap.error = Some(f);
                }
            }
            out.push(snap);
        }
        out
    }

    /// Poll every pending native snapshot of every region until it settles or `wait` is over.
    pub(super) async fn wait_native(
        &self,
        cx: &RunContext,
        results: &mut [RegionResult],
        wait: Duration,
        errors: &ErrorSink,
    ) {
        let deadline = Instant::now() + wait;
        let mut interval = FIRST_POLL;
        for r in results.iter_mut() {
            for s in &mut r.created {
                if s.state == "pending" && s.error.is_none() {
                    s.waited = true;
                }
            }
        }
        let pending = |results: &[RegionResult]| {
            results
                .iter()
                .flat_map(|r| r.created.iter())
                .any(|s| s.waited && s.state == "pending" && !s.timed_out && s.error.is_none())
        };
        while pending(results) {
            let now = Instant::now();
            if now >= deadline || cx.is_cancelled() {
                break;
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = (interval * 2).min(MAX_POLL_INTERVAL);
            for r in results.iter_mut() {
                let Some(client) = r.client.clone() else {
                    continue;
                };
                for s in &mut r.created {
                    if !(s.waited && s.state == "pending" && s.error.is_none()) {
                        continue;
                    }
                    self.limit().await;
                    match client
                        .get_instance_snapshot()
                        .instance_snapshot_name(&s.name)
                        .send()
                        .await
                    {
                        Ok(o) => {
                            if let Some(st) = o.instance_snapshot().and_then(|x| x.state()) {
                                s.state = st.as_str().to_string();
                            }
                        }
                        Err(e) => {
                            let f = describe(&e);
                            errors.record(ERR.api(
                                "lightsail:GetInstanceSnapshot",
                                &format!(
                                    "arn:aws:lightsail:{}:{}:InstanceSnapshot/{}",
                                    r.region, self.scope.account_id, s.name
                                ),
                                &f,
                            ));
                            s.error = Some(f);
                        }
                    }
                    if s.state == "error" {
                        let f = ApiFailure::new(
                            "SnapshotFailed",
                            format!(
                                "the instance snapshot {} of {} ended in state error",
                                s.name, s.instance
                            ),
                        );
                        errors.record(ERR.api(
                            "lightsail:CreateInstanceSnapshot",
                            &s.instance_arn,
                            &f,
                        ));
                        s.error = Some(f);
                    }
                }
            }
        }
        for r in results.iter_mut() {
            for s in &mut r.created {
                if s.waited && s.state == "pending" && s.error.is_none() {
                    s.timed_out = true;
                    tracing::warn!(
                        "{}: native snapshot {} still pending after {} s",
                        r.region,
                        s.name,
                        wait.as_secs()
                    );
                }
            }
        }
    }

    /// `created_snapshots.json` of one region.
    pub(super) fn created_json(&self, snaps: &[NativeSnapshot]) -> Value {
        let mut list: Vec<Value> = snaps
            .iter()
            .map(|s| {
                let mut v = json!({
                    "instanceName": s.instance,
                    "instanceSnapshotName": s.name,
                    "state": s.state,
                    "created": s.created,
                    "alreadyExisted": s.already_existed,
                    "waited": s.waited,
                    "timedOut": s.timed_out,
                });
                if let Some(e) = &s.error {
                    v["error"] = json!({"code": e.code, "message": e.message});
                }
                v
            })
            .collect();
        list.sort_by(|a, b| a["instanceName"].as_str().cmp(&b["instanceName"].as_str()));
        json!({
            "infrasnapSnapshot": self.options.snapshot_name,
            "waitSeconds": self.options.wait.map(|d| d.as_secs()),
            "instanceSnapshots": list,
        })
    }

    /// The manifest's part on native snapshots.
    pub(super) fn manifest_native(&self, m: &mut Blocks, results: &[RegionResult]) {
        let all: Vec<(&str, &NativeSnapshot)> = results
            .iter()
            .flat_map(|r| r.created.iter().map(move |s| (r.region.as_str(), s)))
            .collect();
        let created = all.iter().filter(|(_, s)| s.created).count();
        m.text(format!(
            "Native snapshots (--lightsail-snapshot): this run created {created} Lightsail \
             instance snapshot(s). Creating them is the only write infrasnap makes to a cloud \
             account; Lightsail keeps (and bills) them until they are deleted."
        ));
        if all.is_empty() {
            return;
        }
        let mut t = Table::new(&["Region", "Instance", "Native snapshot", "State", "Wait"]);
        for (region, s) in all {
            let how = if s.already_existed {
                "existed already"
            } else if s.timed_out {
                "still pending when the wait ended"
            } else if s.error.is_some() {
                "failed"
            } else if s.waited {
                "waited for"
            } else {
                "not waited for"
            };
            t.row(vec![
                region.to_string(),
                s.instance.clone(),
                s.name.clone(),
                s.state.clone(),
                how.into(),
            ]);
        }
        m.table(t);
    }
}
