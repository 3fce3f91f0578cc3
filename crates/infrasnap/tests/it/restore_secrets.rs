//! Restore of secret values through the binary against moto: SSM parameters (String and
//! SecureString, with and without kept values), a Secrets Manager secret deleted for good and
//! restored, a Lambda function's environment restored exactly from kept values, and a wrong
//! identity refused with nothing applied. Values come back only from `--keep-secrets` (encrypted
//! to the configured age recipient) and the identity given with `--identity`; no value is ever
//! printed.

use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use aws_sdk_ssm::types::{ParameterType, Tag};
use infrasnap_collectors::local::age;
use serde_json::Value;

use crate::common;
use common::*;

const ACCT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// Run infrasnap with `--json` and parse its stdout (a local helper: restore.rs has its own).
/// A config that keeps secrets for a fresh age identity; the identity file beside it.
struct Keys {
    config: PathBuf,
    identity: PathBuf,
}

fn keys(dir: &Path) -> Keys {
    let id = age::x25519::Identity::generate();
    let identity = dir.join("key.txt");
    std::fs::write(
        &identity,
        format!("# test identity\n{}\n", id.to_string().expose_secret()),
    )
    .unwrap();
    let config = dir.join("infrasnap.toml");
    std::fs::write(
        &config,
        format!("[secrets]\nrecipient = \"{}\"\n", id.to_public()),
    )
    .unwrap();
    Keys { config, identity }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn manual(plan: &Value) -> Vec<(String, String)> {
    plan["manual"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    (
                        m["id"].as_str().unwrap_or_default().to_string(),
                        m["reason"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// No secret value anywhere in these outputs.
#[track_caller]
fn assert_not_shown(outputs: &[&std::process::Output], secrets: &[&str]) {
    for o in outputs {
        for s in secrets {
            assert!(!stdout(o).contains(s), "a value in stdout");
            assert!(!stderr(o).contains(s), "a value in stderr");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssm_parameters_come_back_from_kept_values_and_need_values_without() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let conf = sdk_conf(&url, REGION).await;
    let ssm = aws_sdk_ssm::Client::new(&conf);
    let secret = format!("Pw-{}-x9", alnum(20));
    ssm.put_parameter()
        .name("/app/host")
        .value("db.example.com")
        .r#type(ParameterType::String)
        .description("database host")
        .tags(Tag::builder().key("team").value("web").build().unwrap())
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/app/db_password")
        .value(&secret)
        .r#type(ParameterType::SecureString)
        .description("database password")
        .tags(Tag::builder().key("team").value("db").build().unwrap())
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let k = keys(tmp.path());
    let cfg = path(&k.config);
    let only = ["--only", "ssm", "--regions", REGION, "--config", cfg];
    let snap = |label: &str, extra: &[&str]| {
        let mut a = only.to_vec();
        a.extend(["--label", label]);
        a.extend_from_slice(extra);
        snapshot_dir(&repo, &snapshot(&repo, &url, &a))
    };
    let plain_dir = snap("plain", &[]);
    let kept_dir = snap("kept", &["--keep-secrets"]);
    // The kept value is encrypted beside the parameter; the plain snapshot has none.
    let rec = |dir: &Path| {
        catalog_records(dir)
            .remove(&format!(
                "aws.ssm.parameter:{ACCT}:{REGION}:/app/db_password"
            ))
            .unwrap()
    };
    assert!(
        rec(&plain_dir)["parts"].get("kept.age").is_none(),
        "{}",
        rec(&plain_dir)
    );
    assert!(
        rec(&kept_dir)["parts"].get("kept.age").is_some(),
        "{}",
        rec(&kept_dir)
    );
    // Nowhere in the snapshot in plain text.
    for f in walk_files(&repo) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!contains(&bytes, secret.as_bytes()), "{}", f.display());
    }

    // Deleted live; the host parameter altered.
    ssm.delete_parameter()
        .name("/app/db_password")
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/app/host")
        .value("other.example.com")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    snap("broken", &[]);
    let plan_args = |snapshot: &'static str, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "--json",
            "restore",
            "plan",
            snapshot,
            "--kind",
            "aws.ssm.parameter",
            "--force",
            "--config",
            cfg,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        infrasnap(&repo, &url, &a)
    };
    let password = format!("aws.ssm.parameter:{ACCT}:{REGION}:/app/db_password");
    let host = format!("aws.ssm.parameter:{ACCT}:{REGION}:/app/host");

    // Without kept values: the String parameter is planned, the SecureString "needs values".
    let o = run(plan_args("plain", &["--identity", path(&k.identity)]));
    assert_code(&o, 0);
    let plan = json_of(&o);
    assert_eq!(steps(&plan), vec![("update".into(), host.clone())]);
    let m = manual(&plan);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].0, password);
    assert!(m[0].1.starts_with("needs values"), "{}", m[0].1);

    // Kept, but no identity: still "needs values", saying to pass the identity.
    let o = run(plan_args("kept", &[]));
    assert_code(&o, 0);
    let m = manual(&json_of(&o));
    assert!(
        m.iter()
            .any(|(id, r)| id == &password && r.contains("--identity")),
        "{m:?}"
    );

    // Kept and the identity: both planned, the value shown nowhere.
    let plan_file = tmp.path().join("plan.json");
    let o = run(plan_args(
        "kept",
        &["--identity", path(&k.identity), "-o", path(&plan_file)],
    ));
    assert_code(&o, 0);
    let plan = json_of(&o);
    let mut st = steps(&plan);
    st.sort();
    assert_eq!(
        st,
        vec![
            ("create".into(), password.clone()),
            ("update".into(), host.clone())
        ]
    );
    assert!(manual(&plan).is_empty());
    let text = std::fs::read_to_string(&plan_file).unwrap();
    assert!(!text.contains(&secret));

    // Apply without the identity: refused, nothing applied.
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", path(&plan_file), "--config", cfg],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--identity"), "{}", stderr(&o));
    assert!(ssm
        .get_parameter()
        .name("/app/db_password")
        .send()
        .await
        .is_err());

    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "apply",
            path(&plan_file),
            "--config",
            cfg,
            "--identity",
            path(&k.identity),
        ],
    );
    assert_code(&o, 0);
    assert_not_shown(&[&o], &[&secret]);
    let got = ssm
        .get_parameter()
        .name("/app/db_password")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let p = got.parameter().unwrap();
    assert_eq!(p.value(), Some(secret.as_str()));
    assert_eq!(p.r#type(), Some(&ParameterType::SecureString));
    snap("after", &[]);
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "kept", "after", "--kind", "aws.ssm.parameter"],
    );
    assert_code(&o, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_deleted_for_good_comes_back_and_a_wrong_identity_applies_nothing() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let conf = sdk_conf(&url, REGION).await;
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let value = format!("{{\"user\":\"app\",\"password\":\"{}\"}}", alnum(24));
    sm.create_secret()
        .name("prod/db")
        .description("the database login")
        .secret_string(&value)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("team")
                .value("db")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let k = keys(tmp.path());
    let cfg = path(&k.config);
    let snap = |label: &str, extra: &[&str]| {
        let mut a = vec!["--only", "ssm", "--regions", REGION, "--config", cfg];
        a.extend(["--label", label]);
        a.extend_from_slice(extra);
        snapshot(&repo, &url, &a);
    };
    snap("kept", &["--keep-secrets"]);
    sm.delete_secret()
        .secret_id("prod/db")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let id = format!("aws.secretsmanager.secret:{ACCT}:{REGION}:prod/db");
    let plan_file = tmp.path().join("plan.json");
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "restore",
            "plan",
            "kept",
            "--kind",
            "aws.secretsmanager.secret",
            "--config",
            cfg,
            "--identity",
            path(&k.identity),
            "-o",
            path(&plan_file),
        ],
    );
    assert_code(&o, 0);
    assert_eq!(steps(&json_of(&o)), vec![("create".into(), id.clone())]);

    // Another identity: a clear error at plan and at apply, nothing applied.
    let other = age::x25519::Identity::generate();
    let wrong = tmp.path().join("wrong.txt");
    std::fs::write(&wrong, format!("{}\n", other.to_string().expose_secret())).unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "plan",
            "kept",
            "--kind",
            "aws.secretsmanager.secret",
            "--config",
            cfg,
            "--identity",
            path(&wrong),
        ],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("does not decrypt"), "{}", stderr(&o));
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "apply",
            path(&plan_file),
            "--config",
            cfg,
            "--identity",
            path(&wrong),
        ],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("does not decrypt"), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing was applied"), "{}", stderr(&o));
    // Not an identity file at all.
    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "apply",
            path(&plan_file),
            "--config",
            cfg,
            "--identity",
            cfg,
        ],
    );
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("not an age identity file"),
        "{}",
        stderr(&o)
    );
    assert!(sm
        .describe_secret()
        .secret_id("prod/db")
        .send()
        .await
        .is_err());

    let o = infrasnap(
        &repo,
        &url,
        &[
            "restore",
            "apply",
            path(&plan_file),
            "--config",
            cfg,
            "--identity",
            path(&k.identity),
        ],
    );
    assert_code(&o, 0);
    assert_not_shown(&[&o], &[&value]);
    let got = sm
        .get_secret_value()
        .secret_id("prod/db")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some(value.as_str()));
    snap("after", &[]);
    let o = infrasnap(
        &repo,
        &url,
        &[
            "diff",
            "kept",
            "after",
            "--kind",
            "aws.secretsmanager.secret",
        ],
    );
    assert_code(&o, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lambda_environment_comes_back_exactly_from_kept_values() {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let conf = sdk_conf(&url, REGION).await;
    let role = aws_sdk_iam::Client::new(&conf)
        .create_role()
        .role_name("lambda-exec")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string();
    let lam = aws_sdk_lambda::Client::new(&conf);
    let token = format!("sk_live_{}", alnum(24));
    let env = Environment::builder()
        .variables("API_TOKEN", &token)
        .variables("LOG_LEVEL", "debug")
        .build();
    lam.create_function()
        .function_name("hello")
        .runtime(Runtime::Python312)
        .role(&role)
        .handler("index.handler")
        .environment(env)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(stored_zip(&[(
                    "index.py",
                    b"def handler(e, c):\n    return 1\n",
                )])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let k = keys(tmp.path());
    let cfg = path(&k.config);
    let snap = |label: &str, extra: &[&str]| {
        let mut a = vec!["--only", "lambda", "--regions", REGION, "--config", cfg];
        a.extend(["--label", label]);
        a.extend_from_slice(extra);
        snapshot(&repo, &url, &a);
    };
    snap("kept", &["--keep-secrets"]);
    lam.delete_function()
        .function_name("hello")
        .send()
        .await
        .unwrap();
    let o = infrasnap(
        &repo,
        &url,
        &[
            "--json",
            "restore",
            "kept",
            "--kind",
            "aws.lambda.function",
            "--config",
            cfg,
            "--identity",
            path(&k.identity),
            "--yes",
        ],
    );
    assert_code(&o, 0);
    assert_not_shown(&[&o], &[&token]);
    let got = lam
        .get_function_configuration()
        .function_name("hello")
        .send()
        .await
        .unwrap();
    let vars = got.environment().unwrap().variables().unwrap();
    assert_eq!(vars.get("API_TOKEN"), Some(&token));
    assert_eq!(vars.get("LOG_LEVEL").map(String::as_str), Some("debug"));
    snap("after", &[]);
    let o = infrasnap(
        &repo,
        &url,
        &["diff", "kept", "after", "--kind", "aws.lambda.function"],
    );
    assert_code(&o, 0);
}
