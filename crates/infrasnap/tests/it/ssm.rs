//! SSM Parameter Store and Secrets Manager end to end: the real binary against moto, two regions.
//! Parameters of all three types with descriptions and tags, secrets (string and binary) with
//! tags and a resource policy, asserted field by field from parameters.json and secrets.json.
//! Planted secret values (made at run time) appear nowhere under the repository (every file's
//! bytes, blobs included) nor in stdout or stderr; a String parameter holding an AWS access key
//! is redacted; a value's fingerprint is stable across unchanged snapshots and changes with the
//! value; a second unchanged snapshot adds no blob and gives every resource the same digest.
//! The catalog lists each parameter and secret by name, with coverage per region: complete, or
//! failed where the listing is denied.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};
use common::sdk_conf as conf;
use common::*;
use serde_json::{json, Value};

async fn put_param(
    c: &aws_sdk_ssm::Client,
    name: &str,
    t: ParameterType,
    value: &str,
    description: Option<&str>,
    overwrite: bool,
) {
    c.put_parameter()
        .name(name)
        .r#type(t)
        .value(value)
        .set_description(description.map(String::from))
        .overwrite(overwrite)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put_parameter {name}: {}", e.into_service_error()));
}

async fn tag_param(c: &aws_sdk_ssm::Client, name: &str, tags: &[(&str, &str)]) {
    let mut r = c
        .add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name);
    for (k, v) in tags {
        r = r.tags(Tag::builder().key(*k).value(*v).build().unwrap());
    }
    r.send().await.unwrap();
}

/// moto's account.
const ACCOUNT: &str = "123456789012";

/// The catalog's records by id text (`kind:account:region:id`).
fn resources(snap: &Path) -> BTreeMap<String, Value> {
    catalog_file(snap, "resources")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect()
}

/// The coverage state of `kind` in `region` (`complete`/`failed`), and its error.
#[track_caller]
fn coverage(snap: &Path, kind: &str, region: &str) -> (String, Value) {
    let c = catalog_file(snap, "coverage")
        .into_iter()
        .find(|c| c["kind"] == kind && c["account"] == ACCOUNT && c["region"] == region)
        .unwrap_or_else(|| panic!("no coverage of {kind} in {region}"));
    (c["state"].as_str().unwrap().to_string(), c["error"].clone())
}

/// The ids (`kind:account:region:id`) of the resources of `kind` in a catalog.
fn ids_of(res: &BTreeMap<String, Value>, kind: &str) -> Vec<String> {
    res.keys()
        .filter(|k| k.starts_with(&format!("{kind}:")))
        .cloned()
        .collect()
}

/// The path of a view or document of this account: `<folder>/<account>/<region>/<file>`.
fn at(folder: &str, region: &str, file: &str) -> String {
    format!("{folder}/{ACCOUNT}/{region}/{file}")
}

/// The entry named `name` of a list of objects.
#[track_caller]
fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["Name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list:#}"))
}

struct Run {
    meta: Value,
    out: String,
    err: String,
}

fn run(repo: &Path, endpoint: &str, label: &str, json_out: bool) -> Run {
    let mut args: Vec<&str> = Vec::new();
    if json_out {
        args.push("--json");
    } else {
        args.push("-vv");
    }
    args.extend([
        "snapshot",
        "--label",
        label,
        "--only",
        "ssm",
        "--regions",
        "us-east-1,eu-west-1",
    ]);
    let o = infrasnap(repo, endpoint, &args);
    assert_code(&o, 0);
    let meta = if json_out {
        serde_json::from_slice::<Value>(&o.stdout).expect("json output")["metadata"].clone()
    } else {
        Value::Null
    };
    Run {
        meta,
        out: stdout(&o),
        err: stderr(&o),
    }
}

/// Fail if any planted value is in any file under `repo` or in the outputs.
#[track_caller]
fn assert_nowhere(repo: &Path, planted: &[(&str, Vec<u8>)], outputs: &[&str]) {
    let files = walk_files(repo);
    assert!(files.len() > 5, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for (what, p) in planted {
            assert!(
                !bytes.windows(p.len()).any(|w| w == &p[..]),
                "{what} found in {}",
                f.display()
            );
        }
    }
    for o in outputs {
        for (what, p) in planted {
            assert!(
                !o.as_bytes().windows(p.len()).any(|w| w == &p[..]),
                "{what} found in the output:\n{o}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_and_secrets_are_captured_without_their_values() {
    let emu = Emulator::start().await.unwrap();
    let us = conf(&emu.url(), "us-east-1").await;
    let eu = conf(&emu.url(), "eu-west-1").await;
    let ssm_us = aws_sdk_ssm::Client::new(&us);
    let ssm_eu = aws_sdk_ssm::Client::new(&eu);
    let sm_us = aws_sdk_secretsmanager::Client::new(&us);
    let sm_eu = aws_sdk_secretsmanager::Client::new(&eu);

    // Planted values, fresh for every run.
    let db_password = format!("Pw-{}", alnum(24));
    let api_token = format!("tok_{}", alnum(32));
    let secret_password = format!("S3cr3t-{}", alnum(20));
    let binary_secret: Vec<u8> = {
        let mut b = alnum(40).into_bytes();
        b.extend_from_slice(&[0, 255, 7, 128]);
        b
    };
    let access_key = format!("AKIA{}", random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let secret_key = alnum(40);

    // --- us-east-1: all three types, a description, tags, and a String with an AWS key.
    put_param(
        &ssm_us,
        "/app/prod/db_host",
        ParameterType::String,
        "db.internal.example.com",
        Some("database host name"),
        false,
    )
    .await;
    tag_param(
        &ssm_us,
        "/app/prod/db_host",
        &[("team", "core"), ("env", "prod")],
    )
    .await;
    put_param(
        &ssm_us,
        "/app/prod/hosts",
        ParameterType::StringList,
        "a.example.com,b.example.com",
        None,
        false,
    )
    .await;
    put_param(
        &ssm_us,
        "/app/prod/db_password",
        ParameterType::SecureString,
        &db_password,
        Some("the database password"),
        false,
    )
    .await;
    tag_param(&ssm_us, "/app/prod/db_password", &[("env", "prod")]).await;
    let creds_text = format!(
        "region=us-east-1 aws_access_key_id={access_key} aws_secret_access_key={secret_key}"
    );
    put_param(
        &ssm_us,
        "/app/prod/deploy_config",
        ParameterType::String,
        &creds_text,
        None,
        false,
    )
    .await;
    // --- eu-west-1: a SecureString and a plain String.
    put_param(
        &ssm_eu,
        "/svc/api_token",
        ParameterType::SecureString,
        &api_token,
        None,
        false,
    )
    .await;
    put_param(
        &ssm_eu,
        "greeting",
        ParameterType::String,
        "hello",
        None,
        false,
    )
    .await;
    tag_param(&ssm_eu, "greeting", &[("lang", "en")]).await;

    // --- Secrets: a JSON string secret with tags and a policy in us-east-1, a binary one in
    // eu-west-1.
    let db_secret = sm_us
        .create_secret()
        .name("prod/db")
        .description("prod database credentials")
        .secret_string(json!({"username": "admin", "password": secret_password}).to_string())
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("team")
                .value("core")
                .build(),
        )
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("env")
                .value("prod")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let db_secret_arn = db_secret.arn().unwrap().to_string();
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*"
        }]
    });
    sm_us
        .put_resource_policy()
        .secret_id("prod/db")
        .resource_policy(policy.to_string())
        .send()
        .await
        .unwrap();
    sm_eu
        .create_secret()
        .name("signing-key")
        .secret_binary(Blob::new(binary_secret.clone()))
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("purpose")
                .value("jwt")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let planted: Vec<(&str, Vec<u8>)> = vec![
        ("SecureString db_password", db_password.clone().into_bytes()),
        ("SecureString api_token", api_token.clone().into_bytes()),
        ("secret password", secret_password.clone().into_bytes()),
        ("binary secret", binary_secret.clone()),
        ("binary secret (text part)", binary_secret[..40].to_vec()),
        ("access key id", access_key.clone().into_bytes()),
        ("secret access key", secret_key.clone().into_bytes()),
    ];

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    // ---------------------------------------------------------------- first snapshot
    let first = run(&repo, &emu.url(), "first", true);
    let meta = &first.meta;
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let c = &meta["collectors"]["ssm"];
    assert_eq!(c["status"], "complete", "{c:#}");
    assert_eq!(c["errors"], json!([]));
    assert_eq!(c["counts"]["parameters"], 6, "{c:#}");
    assert_eq!(c["counts"]["secure_strings"], 2, "{c:#}");
    assert_eq!(c["counts"]["secrets"], 2, "{c:#}");
    assert_eq!(c["counts"]["value_fingerprints"], 4, "{c:#}");
    let snap = snapshot_dir(&repo, meta);

    // --- parameters, us-east-1: the view of the region's members, `{"Items": [...]}`.
    let pu = read_json(&snap.join(at("ssm_parameters", "us-east-1", "parameters.json")));
    assert_eq!(pu.as_object().unwrap().len(), 1, "{pu:#}");
    let params = &pu["Items"];
    let names: Vec<&str> = params
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "/app/prod/db_host",
            "/app/prod/db_password",
            "/app/prod/deploy_config",
            "/app/prod/hosts"
        ]
    );
    let host = entry(params, "/app/prod/db_host");
    assert_eq!(host["Type"], "String");
    assert_eq!(host["Value"], "db.internal.example.com");
    assert_eq!(host["Description"], "database host name");
    assert_eq!(host["Version"], 1);
    assert_eq!(host["ValueVersion"], 1);
    assert_eq!(host["DataType"], "text");
    assert_eq!(host["Tier"], "Standard");
    assert!(
        host["LastModifiedDate"].as_str().unwrap().ends_with('Z'),
        "{host:#}"
    );
    assert_eq!(
        host["Tags"],
        json!([{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "core"}])
    );
    assert!(host.get("ValueFingerprint").is_none());
    assert!(host.get("ValueRedacted").is_none());
    let hosts = entry(params, "/app/prod/hosts");
    assert_eq!(hosts["Type"], "StringList");
    assert_eq!(hosts["Value"], "a.example.com,b.example.com");
    assert!(hosts.get("Tags").is_none());
    let pw = entry(params, "/app/prod/db_password");
    assert_eq!(pw["Type"], "SecureString");
    assert_eq!(pw["Description"], "the database password");
    assert_eq!(pw["Tags"], json!([{"Key": "env", "Value": "prod"}]));
    assert!(pw.get("Value").is_none(), "{pw:#}");
    let pw_fp = pw["ValueFingerprint"].as_str().unwrap().to_string();
    assert!(pw_fp.starts_with("fp:"), "{pw_fp}");
    assert!(pw["KeyId"].as_str().is_some(), "{pw:#}");
    let deploy = entry(params, "/app/prod/deploy_config");
    let v = deploy["Value"].as_str().unwrap();
    assert!(v.starts_with("region=us-east-1 "), "{v}");
    assert!(v.contains("<redacted fp:"), "{v}");
    assert!(!v.contains(&access_key), "{v}");
    assert_eq!(deploy["ValueRedacted"], true);

    // --- parameters, eu-west-1.
    let pe = read_json(&snap.join(at("ssm_parameters", "eu-west-1", "parameters.json")));
    let pe = &pe["Items"];
    assert_eq!(pe.as_array().unwrap().len(), 2, "{pe:#}");
    let tok = entry(pe, "/svc/api_token");
    assert_eq!(tok["Type"], "SecureString");
    let tok_fp = tok["ValueFingerprint"].as_str().unwrap().to_string();
    assert_ne!(tok_fp, pw_fp);
    let greeting = entry(pe, "greeting");
    assert_eq!(greeting["Value"], "hello");
    assert_eq!(greeting["Tags"], json!([{"Key": "lang", "Value": "en"}]));

    // --- secrets.
    let su = read_json(&snap.join(at("secrets_manager", "us-east-1", "secrets.json")));
    assert_eq!(su.as_object().unwrap().len(), 1, "{su:#}");
    let db = entry(&su["Items"], "prod/db");
    assert_eq!(db["ARN"], db_secret_arn.as_str());
    assert_eq!(db["Description"], "prod database credentials");
    assert_eq!(
        db["Tags"],
        json!([{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "core"}])
    );
    assert_eq!(db["ValueType"], "SecretString");
    let db_fp = db["ValueFingerprint"].as_str().unwrap().to_string();
    assert!(db_fp.starts_with("fp:"));
    let db_version = db["ValueVersionId"].as_str().unwrap().to_string();
    assert_eq!(
        db["VersionIdsToStages"][&db_version],
        json!(["AWSCURRENT"]),
        "{db:#}"
    );
    assert_eq!(db["ResourcePolicy"], policy, "{db:#}");
    assert!(db.get("Value").is_none() && db.get("SecretString").is_none());
    let se = read_json(&snap.join(at("secrets_manager", "eu-west-1", "secrets.json")));
    let sk = entry(&se["Items"], "signing-key");
    assert_eq!(sk["ValueType"], "SecretBinary");
    assert_eq!(sk["Tags"], json!([{"Key": "purpose", "Value": "jwt"}]));
    let sk_fp = sk["ValueFingerprint"].as_str().unwrap().to_string();
    assert_eq!(se["Items"].as_array().unwrap().len(), 1);
    // LastAccessedDate is kept apart, in the region's `last_accessed` resource.
    assert!(db.get("LastAccessedDate").is_none(), "{db:#}");
    let la = read_json(&snap.join(at("secrets_manager", "us-east-1", "last_accessed.json")));
    assert_eq!(la["Region"], "us-east-1", "{la:#}");
    assert!(la["LastAccessedDate"].is_object(), "{la:#}");

    // --- the catalog: one record per parameter and secret, by name; coverage per region.
    let res = resources(&snap);
    let p_ids = ids_of(&res, "aws.ssm.parameter");
    let expected: Vec<String> = [
        ("eu-west-1", "/svc/api_token"),
        ("eu-west-1", "greeting"),
        ("us-east-1", "/app/prod/db_host"),
        ("us-east-1", "/app/prod/db_password"),
        ("us-east-1", "/app/prod/deploy_config"),
        ("us-east-1", "/app/prod/hosts"),
    ]
    .iter()
    .map(|(r, n)| format!("aws.ssm.parameter:{ACCOUNT}:{r}:{n}"))
    .collect();
    assert_eq!(p_ids, expected);
    let s_ids = ids_of(&res, "aws.secretsmanager.secret");
    assert_eq!(
        s_ids,
        [
            format!("aws.secretsmanager.secret:{ACCOUNT}:eu-west-1:signing-key"),
            format!("aws.secretsmanager.secret:{ACCOUNT}:us-east-1:prod/db"),
        ]
    );
    // Members of a view: in the store and the catalog, no tree path of their own.
    for id in p_ids.iter().chain(&s_ids) {
        let r = &res[id];
        assert!(r.get("path").is_none(), "{r:#}");
        assert_eq!(r["blob"].as_str().unwrap().len(), 64, "{r:#}");
        assert!(r.get("incomplete").is_none(), "{r:#}");
    }
    let la_rec =
        &res[&format!("aws.secretsmanager.last_accessed:{ACCOUNT}:us-east-1:last_accessed")];
    assert_eq!(
        la_rec["path"],
        at("secrets_manager", "us-east-1", "last_accessed.json")
    );
    for kind in [
        "aws.ssm.parameter",
        "aws.secretsmanager.secret",
        "aws.secretsmanager.last_accessed",
    ] {
        for region in ["us-east-1", "eu-west-1"] {
            assert_eq!(
                coverage(&snap, kind, region).0,
                "complete",
                "{kind} {region}"
            );
        }
    }

    // --- MANIFEST.md has the section.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("| us-east-1 | 4 | 1 | 1 |"), "{manifest}");
    assert!(manifest.contains("| eu-west-1 | 2 | 1 | 1 |"), "{manifest}");

    assert_nowhere(&repo, &planted, &[&first.out, &first.err]);

    // ---------------------------------------------------------------- unchanged: no new blob
    let blobs = blob_count(&repo);
    let second = run(&repo, &emu.url(), "second", true);
    let c2 = &second.meta["collectors"]["ssm"];
    assert_eq!(c2["status"], "complete", "{c2:#}");
    assert_eq!(c2["blobs_new"], 0, "{c2:#}");
    let snap2 = snapshot_dir(&repo, &second.meta);
    for rel in [
        at("ssm_parameters", "us-east-1", "parameters.json"),
        at("ssm_parameters", "eu-west-1", "parameters.json"),
        at("secrets_manager", "us-east-1", "secrets.json"),
        at("secrets_manager", "eu-west-1", "secrets.json"),
    ] {
        assert_eq!(
            std::fs::read(snap.join(&rel)).unwrap(),
            std::fs::read(snap2.join(&rel)).unwrap(),
            "{rel} changed"
        );
    }
    // The same resources, with the same digests.
    let digests = |snap: &Path| -> BTreeMap<String, Value> {
        resources(snap)
            .into_iter()
            .map(|(id, r)| (id, r["digest"].clone()))
            .collect()
    };
    assert_eq!(digests(&snap), digests(&snap2));
    // Only the snapshot's own records (metadata, manifest, index) may be new.
    let added = blob_count(&repo) - blobs;
    let own = second.meta["collectors"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["blobs_new"].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert_eq!(own, 0, "{:#}", second.meta);
    assert!(added <= 3, "{added} blobs added by an unchanged snapshot");

    // ---------------------------------------------------------------- values change
    let new_password = format!("Pw2-{}", alnum(24));
    let new_secret =
        json!({"username": "admin", "password": format!("N3w-{}", alnum(20))}).to_string();
    put_param(
        &ssm_us,
        "/app/prod/db_password",
        ParameterType::SecureString,
        &new_password,
        Some("the database password"),
        true,
    )
    .await;
    sm_us
        .put_secret_value()
        .secret_id("prod/db")
        .secret_string(&new_secret)
        .send()
        .await
        .unwrap();
    let third = run(&repo, &emu.url(), "third", false);
    assert!(!third.err.is_empty() || !third.out.is_empty());
    let snap3 = {
        let mut names: Vec<String> = std::fs::read_dir(&repo)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .filter(|n| repo.join(n).join("snapshot_metadata.json").exists())
            .collect();
        names.sort();
        let done = [
            meta["name"].as_str().unwrap().to_string(),
            second.meta["name"].as_str().unwrap().to_string(),
        ];
        names.retain(|n| !done.contains(n));
        assert_eq!(names.len(), 1, "{names:?}");
        repo.join(&names[0])
    };
    let pu3 = read_json(&snap3.join(at("ssm_parameters", "us-east-1", "parameters.json")));
    let pw3 = entry(&pu3["Items"], "/app/prod/db_password");
    assert_eq!(pw3["Version"], 2);
    assert_ne!(pw3["ValueFingerprint"], pw_fp.as_str());
    assert!(pw3["ValueFingerprint"].as_str().unwrap().starts_with("fp:"));
    let pe3 = read_json(&snap3.join(at("ssm_parameters", "eu-west-1", "parameters.json")));
    assert_eq!(
        entry(&pe3["Items"], "/svc/api_token")["ValueFingerprint"],
        tok_fp.as_str()
    );
    let su3 = read_json(&snap3.join(at("secrets_manager", "us-east-1", "secrets.json")));
    let db3 = entry(&su3["Items"], "prod/db");
    assert_ne!(db3["ValueFingerprint"], db_fp.as_str());
    assert_ne!(db3["ValueVersionId"], db_version.as_str());
    let se3 = read_json(&snap3.join(at("secrets_manager", "eu-west-1", "secrets.json")));
    assert_eq!(
        entry(&se3["Items"], "signing-key")["ValueFingerprint"],
        sk_fp.as_str()
    );
    // Exactly the two changed values changed digests.
    let (d2, d3) = (digests(&snap2), digests(&snap3));
    let changed: Vec<&String> = d2.keys().filter(|id| d2[*id] != d3[*id]).collect();
    assert_eq!(
        changed,
        [
            &format!("aws.secretsmanager.secret:{ACCOUNT}:us-east-1:prod/db"),
            &format!("aws.ssm.parameter:{ACCOUNT}:us-east-1:/app/prod/db_password"),
        ]
    );
    // Same value, same fingerprint: putting the old password back gives the old fingerprint.
    put_param(
        &ssm_us,
        "/app/prod/db_password",
        ParameterType::SecureString,
        &db_password,
        Some("the database password"),
        true,
    )
    .await;
    let fourth = run(&repo, &emu.url(), "fourth", true);
    let snap4 = snapshot_dir(&repo, &fourth.meta);
    let pu4 = read_json(&snap4.join(at("ssm_parameters", "us-east-1", "parameters.json")));
    assert_eq!(
        entry(&pu4["Items"], "/app/prod/db_password")["ValueFingerprint"],
        pw_fp.as_str()
    );

    let mut planted = planted;
    planted.push(("new password", new_password.into_bytes()));
    planted.push(("new secret", new_secret.into_bytes()));
    assert_nowhere(
        &repo,
        &planted,
        &[
            &second.out,
            &second.err,
            &third.out,
            &third.err,
            &fourth.out,
            &fourth.err,
        ],
    );
}

/// A loopback HTTP proxy in front of moto that answers `AccessDeniedException` (400, the JSON
/// protocol's error) to the requests whose `X-Amz-Target` is `target` and whose head or body
/// contains `needle`, and forwards every other request. One request per connection.
async fn deny_proxy(upstream: &str, deny: Vec<(&'static str, String)>) -> String {
    stub_proxy(upstream, move |r| {
        let target = r.header("x-amz-target").unwrap_or_default().to_string();
        let all = format!("{}{}", r.head, String::from_utf8_lossy(&r.body));
        deny.iter()
            .any(|(t, needle)| target == *t && all.contains(needle.as_str()))
            .then(|| Canned {
                status: 400,
                content_type: "application/x-amz-json-1.1",
                extra_headers: "x-amzn-ErrorType: AccessDeniedException\r\n".into(),
                body: format!(
                    "{{\"__type\":\"AccessDeniedException\",\"message\":\"User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: {target}\"}}"
                ),
            })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_decryption_and_reads_are_recorded_and_the_rest_is_captured() {
    let emu = Emulator::start().await.unwrap();
    let us = conf(&emu.url(), "us-east-1").await;
    let eu = conf(&emu.url(), "eu-west-1").await;
    let ssm_us = aws_sdk_ssm::Client::new(&us);
    let sm_us = aws_sdk_secretsmanager::Client::new(&us);
    let sm_eu = aws_sdk_secretsmanager::Client::new(&eu);

    let open_value = format!("open-{}", alnum(24));
    let locked_value = format!("locked-{}", alnum(24));
    let locked_secret = format!("lsec-{}", alnum(24));
    let open_secret = format!("osec-{}", alnum(24));
    let eu_secret = format!("eusec-{}", alnum(24));
    put_param(
        &ssm_us,
        "/open/key",
        ParameterType::SecureString,
        &open_value,
        None,
        false,
    )
    .await;
    put_param(
        &ssm_us,
        "/locked/key",
        ParameterType::SecureString,
        &locked_value,
        None,
        false,
    )
    .await;
    put_param(
        &ssm_us,
        "/open/plain",
        ParameterType::String,
        "plain",
        None,
        false,
    )
    .await;
    let locked_arn = sm_us
        .create_secret()
        .name("locked-secret")
        .secret_string(&locked_secret)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let open_arn = sm_us
        .create_secret()
        .name("open-secret")
        .secret_string(&open_secret)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    sm_eu
        .create_secret()
        .name("eu-secret")
        .secret_string(&eu_secret)
        .send()
        .await
        .unwrap();

    let endpoint = deny_proxy(
        &emu.moto.url(),
        vec![
            // Decryption denied for one parameter: its batch fails, then its own read.
            ("AmazonSSM.GetParameters", "/locked/".to_string()),
            ("AmazonSSM.GetParameter", "/locked/".to_string()),
            ("secretsmanager.GetSecretValue", "locked-secret".to_string()),
            (
                "secretsmanager.GetResourcePolicy",
                "open-secret".to_string(),
            ),
            // Listing secrets denied in one region.
            ("secretsmanager.ListSecrets", "eu-west-1".to_string()),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(
        &repo,
        &endpoint,
        &[
            "--json",
            "snapshot",
            "--only",
            "ssm",
            "--regions",
            "us-east-1,eu-west-1",
        ],
    );
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    assert_eq!(meta["status"], "partial", "{meta:#}");
    let c = &meta["collectors"]["ssm"];
    assert_eq!(c["status"], "partial", "{c:#}");
    let errors = c["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    let find = |action: &str| {
        errors
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("{action}: {errors:#?}"))
    };
    let e = find("ssm:GetParameter");
    assert_eq!(e["service"], "ssm");
    assert_eq!(
        e["resource"],
        "arn:aws:ssm:us-east-1:123456789012:parameter/locked/key"
    );
    assert_eq!(e["code"], "AccessDeniedException");
    let e = find("secretsmanager:GetSecretValue");
    assert_eq!(e["service"], "secretsmanager");
    assert_eq!(e["resource"], locked_arn.as_str());
    assert_eq!(e["code"], "AccessDeniedException");
    let e = find("secretsmanager:GetResourcePolicy");
    assert_eq!(e["resource"], open_arn.as_str());
    let e = find("secretsmanager:ListSecrets");
    assert_eq!(
        e["resource"],
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*"
    );
    assert_eq!(c["counts"]["parameters"], 3);
    assert_eq!(c["counts"]["secrets"], 2);
    assert_eq!(c["counts"]["value_fingerprints"], 2, "{c:#}");

    let snap = snapshot_dir(&repo, meta);
    let p = read_json(&snap.join(at("ssm_parameters", "us-east-1", "parameters.json")));
    let locked = entry(&p["Items"], "/locked/key");
    assert!(locked.get("ValueFingerprint").is_none(), "{locked:#}");
    assert!(locked.get("Value").is_none(), "{locked:#}");
    assert_eq!(
        locked["Unreadable"],
        json!([{"Field": "Value", "Action": "ssm:GetParameter", "Code": "AccessDeniedException"}])
    );
    let open = entry(&p["Items"], "/open/key");
    assert!(open["ValueFingerprint"]
        .as_str()
        .unwrap()
        .starts_with("fp:"));
    assert_eq!(entry(&p["Items"], "/open/plain")["Value"], "plain");
    let s = read_json(&snap.join(at("secrets_manager", "us-east-1", "secrets.json")));
    let ls = entry(&s["Items"], "locked-secret");
    assert!(ls.get("ValueFingerprint").is_none(), "{ls:#}");
    assert_eq!(
        ls["Unreadable"][0]["Action"],
        "secretsmanager:GetSecretValue"
    );
    let os = entry(&s["Items"], "open-secret");
    assert!(os["ValueFingerprint"].as_str().unwrap().starts_with("fp:"));
    assert_eq!(
        os["Unreadable"][0]["Action"],
        "secretsmanager:GetResourcePolicy"
    );
    // Not listed: no view, and the coverage says the listing failed (a diff calls the region's
    // secrets "not comparable", never "removed").
    assert!(!snap
        .join(at("secrets_manager", "eu-west-1", "secrets.json"))
        .exists());
    let (state, error) = coverage(&snap, "aws.secretsmanager.secret", "eu-west-1");
    assert_eq!(state, "failed");
    assert_eq!(error["action"], "secretsmanager:ListSecrets", "{error:#}");
    assert_eq!(error["code"], "AccessDeniedException", "{error:#}");
    assert_eq!(
        coverage(&snap, "aws.secretsmanager.last_accessed", "eu-west-1").0,
        "failed"
    );
    // Listed, and none there: no view either, but a complete listing.
    assert!(!snap
        .join(at("ssm_parameters", "eu-west-1", "parameters.json"))
        .exists());
    for (kind, region) in [
        ("aws.ssm.parameter", "eu-west-1"),
        ("aws.ssm.parameter", "us-east-1"),
        ("aws.secretsmanager.secret", "us-east-1"),
    ] {
        assert_eq!(
            coverage(&snap, kind, region).0,
            "complete",
            "{kind} {region}"
        );
    }
    // What a denied read left out makes the resource incomplete; the rest is whole.
    let res = resources(&snap);
    for (id, incomplete) in [
        (
            format!("aws.ssm.parameter:{ACCOUNT}:us-east-1:/locked/key"),
            true,
        ),
        (
            format!("aws.ssm.parameter:{ACCOUNT}:us-east-1:/open/key"),
            false,
        ),
        (
            format!("aws.secretsmanager.secret:{ACCOUNT}:us-east-1:locked-secret"),
            true,
        ),
        (
            format!("aws.secretsmanager.secret:{ACCOUNT}:us-east-1:open-secret"),
            true,
        ),
    ] {
        assert_eq!(res[&id].get("incomplete").is_some(), incomplete, "{id}");
    }
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains("secretsmanager:GetSecretValue"),
        "{manifest}"
    );

    let planted: Vec<(&str, Vec<u8>)> = vec![
        ("open SecureString", open_value.into_bytes()),
        ("locked SecureString", locked_value.into_bytes()),
        ("locked secret", locked_secret.into_bytes()),
        ("open secret", open_secret.into_bytes()),
        ("eu secret", eu_secret.into_bytes()),
    ];
    assert_nowhere(&repo, &planted, &[&stdout(&o), &stderr(&o)]);
}
