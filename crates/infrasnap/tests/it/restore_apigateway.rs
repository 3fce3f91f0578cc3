//! `infrasnap restore` of API Gateway and SES, through the real binary against moto: snapshot →
//! alter or delete live → plan (its content asserted) → apply → snapshot again → `diff` shows no
//! change for those resources.
//!
//! Where moto differs from AWS, the harness bridges it: GetExport with `exportType=oas30` gives
//! Swagger 2.0 on moto, OpenAPI 3.0.1 on AWS; a loopback proxy in front of the emulator
//! (`oas30_proxy`) turns moto's answer into the OpenAPI 3 document AWS would give, so the
//! snapshot holds an export moto's PutRestApi accepts (moto imports OpenAPI 3 only).
//!
//! (`json_of` and `steps` are small local copies of the ones in `restore.rs`.)

use serde_json::{json, Value};

use crate::common;
use common::*;

const ACCOUNT: &str = "123456789012";

#[track_caller]
fn json_of(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {}\nstderr {}", stdout(o), stderr(o)))
}

/// (action, target) of each step.
fn steps(plan: &Value) -> Vec<(String, String)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"]["action"].as_str().unwrap().to_string(),
                s["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn manual(plan: &Value) -> Vec<(String, String)> {
    plan["manual"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Make a plan of `snapshot` for `args`, apply it, and return the plan.
#[track_caller]
fn plan_and_apply(
    repo: &std::path::Path,
    url: &str,
    tmp: &std::path::Path,
    snapshot: &str,
    args: &[&str],
) -> Value {
    let plan_file = tmp.join(format!("plan-{}.json", alnum(6)));
    let mut a = vec![
        "restore",
        "plan",
        snapshot,
        "-o",
        plan_file.to_str().unwrap(),
    ];
    a.extend_from_slice(args);
    let o = infrasnap(repo, url, &a);
    assert_code(&o, 0);
    let plan = read_json(&plan_file);
    let o = infrasnap(
        repo,
        url,
        &["restore", "apply", plan_file.to_str().unwrap()],
    );
    assert!(
        o.status.success(),
        "apply: {}\n{}\nplan {plan:#}",
        stdout(&o),
        stderr(&o)
    );
    plan
}

/// `diff a b --kind k --json`: (status, id) of each resource that is not unchanged.
#[track_caller]
fn changes(
    repo: &std::path::Path,
    url: &str,
    a: &str,
    b: &str,
    kind: &str,
) -> Vec<(String, String)> {
    let o = infrasnap(repo, url, &["diff", a, b, "--kind", kind, "--json"]);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(5),
        "{}",
        stderr(&o)
    );
    let d = json_of(&o);
    d["kinds"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|k| k["resources"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            (
                r["status"].as_str().unwrap_or_default().to_string(),
                r["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_templates_configuration_sets_and_identities_round_trip() {
    let emu = infrasnap_emulator::Emulator::start().await.unwrap();
    let url = ses_proxy(&emu.url()).await;
    let conf = sdk_conf(&url, "us-east-1").await;
    let v1 = aws_sdk_ses::Client::new(&conf);
    let v2 = aws_sdk_sesv2::Client::new(&conf);
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    let template = |subject: &str| {
        aws_sdk_ses::types::Template::builder()
            .template_name("welcome")
            .subject_part(subject)
            .html_part("<p>Hello {{name}}</p>")
            .text_part("Hello {{name}}")
            .build()
            .unwrap()
    };
    v1.create_template()
        .template(template("Welcome aboard"))
        .send()
        .await
        .unwrap();
    v1.create_configuration_set()
        .configuration_set(
            aws_sdk_ses::types::ConfigurationSet::builder()
                .name("transactional")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    v1.create_configuration_set()
        .configuration_set(
            aws_sdk_ses::types::ConfigurationSet::builder()
                .name("marketing")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    v1.create_configuration_set_event_destination()
        .configuration_set_name("marketing")
        .event_destination(
            aws_sdk_ses::types::EventDestination::builder()
                .name("bounces")
                .enabled(true)
                .matching_event_types(aws_sdk_ses::types::EventType::Bounce)
                .sns_destination(
                    aws_sdk_ses::types::SnsDestination::builder()
                        .topic_arn(format!("arn:aws:sns:us-east-1:{ACCOUNT}:bounces"))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    v2.create_email_identity()
        .email_identity("example.com")
        .send()
        .await
        .unwrap();
    snapshot(&repo, &url, &["--only", "ses", "--label", "one"]);
    let one = catalog_records(&repo.join("one"));
    let ident = one
        .get(&format!("aws.ses.identity:{ACCOUNT}:us-east-1:example.com"))
        .unwrap_or_else(|| panic!("{:#?}", one.keys()));
    let _ = ident;

    // A careless change: the template's subject rewritten, the set deleted, the identity too.
    v1.update_template()
        .template(template("Welcome!!"))
        .send()
        .await
        .unwrap();
    v2.delete_configuration_set()
        .configuration_set_name("transactional")
        .send()
        .await
        .unwrap();
    v2.delete_email_identity()
        .email_identity("example.com")
        .send()
        .await
        .unwrap();
    snapshot(&repo, &url, &["--only", "ses", "--label", "two"]);

    let plan = plan_and_apply(
        &repo,
        &url,
        tmp.path(),
        "one",
        &[
            "--kind",
            "aws.ses.template",
            "--kind",
            "aws.ses.configuration_set",
            "--kind",
            "aws.ses.identity",
            "--if-exists",
            "overwrite",
            "--force",
        ],
    );
    let r = |k: &str, id: &str| format!("aws.ses.{k}:{ACCOUNT}:us-east-1:{id}");
    assert_eq!(
        steps(&plan),
        vec![
            ("create".into(), r("configuration_set", "transactional")),
            ("update".into(), r("template", "welcome")),
            ("create".into(), r("identity", "example.com")),
        ],
        "{plan:#}"
    );
    let subject = plan["steps"][1]["action"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "/Template/Subject")
        .unwrap_or_else(|| panic!("{plan:#}"))
        .clone();
    assert_eq!(subject["live"], "Welcome!!");
    assert_eq!(subject["snapshot"], "Welcome aboard");
    assert_eq!(plan["steps"][0]["stage"], 1);
    assert_eq!(plan["steps"][2]["stage"], 2);
    // The identity comes back unverified: the plan names the DNS records it needs.
    let m = manual(&plan);
    let dns = m
        .iter()
        .find(|(id, _)| *id == r("identity", "example.com"))
        .unwrap_or_else(|| panic!("{m:#?}"));
    // (moto gives a domain identity no DKIM tokens, so the snapshot names no record.)
    assert!(
        dns.1.contains("<token>._domainkey.example.com"),
        "{}",
        dns.1
    );
    assert!(
        dns.1
            .contains("get-email-identity --email-identity example.com"),
        "{}",
        dns.1
    );

    snapshot(&repo, &url, &["--only", "ses", "--label", "three"]);
    for kind in ["aws.ses.template", "aws.ses.configuration_set"] {
        let d = changes(&repo, &url, "one", "three", kind);
        assert_eq!(d, vec![], "{kind}");
    }
    // The identity is back; what SES makes anew (DKIM tokens, verification) may differ.
    let d = changes(&repo, &url, "one", "three", "aws.ses.identity");
    assert!(d.iter().all(|(st, _)| st == "modified"), "{d:?}");
}

/// moto's SESv2 GetConfigurationSet nests `SendingOptions.SendingEnabled` (`{}` or
/// `{"SendingEnabled": true}`) where SES gives a boolean; bridged to SES's shape.
async fn ses_proxy(upstream: &str) -> String {
    rewrite_proxy(
        upstream,
        |_| None,
        |s, a| {
            let p = s.path.split('?').next().unwrap_or_default();
            if s.method == "GET"
                && p.starts_with("/v2/email/configuration-sets/")
                && p.matches('/').count() == 4
            {
                if let Ok(mut d) = serde_json::from_slice::<Value>(&a.body) {
                    if let Some(o) = d.pointer_mut("/SendingOptions") {
                        let on = o
                            .pointer("/SendingEnabled/SendingEnabled")
                            .and_then(Value::as_bool)
                            .or_else(|| o.get("SendingEnabled").and_then(Value::as_bool))
                            .unwrap_or(true);
                        *o = json!({"SendingEnabled": on});
                    }
                    a.body = serde_json::to_vec(&d).unwrap();
                }
            }
        },
    )
    .await
}
