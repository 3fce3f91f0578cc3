//! Lambda end to end: the real binary against moto, two regions. Functions with zip code built at
//! run time, a layer with two versions shared by functions, environment variables holding planted
//! secrets (made at run time), a published version and an alias, a resource policy, an event
//! source mapping on a DynamoDB stream, a function URL, reserved concurrency, tags, and a
//! container-image function; asserted field by field from the files, zips byte for byte.
//!
//! moto hands out code locations nobody can download from; the emulator's proxy stands in for
//! the presigned URLs (infrasnap-emulator/src/lambda_code.rs) and counts downloads, so the tests
//! see that an unchanged second snapshot downloads no code and adds no blob, and that a changed
//! function's code is downloaded again, and that the zips a format-1 snapshot lists in its
//! per-region index files are reused too. A zip that fails its SHA-256 is retried once and never
//! stored; a denied call is recorded and the rest is captured; a denied ListFunctions leaves its
//! region's coverage failed.
//!
//! The catalog (`catalog/resources.jsonl`, `catalog/coverage.jsonl`) is asserted too: one record
//! per function (id = its name) and per layer version in use (id = `<layer>:<version>`), with
//! their parts and index files; ListFunctions covered per region; unchanged resources keep their
//! digests.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Cors, Environment, EventSourcePosition, FunctionCode, FunctionUrlAuthType,
    LayerVersionContentInput, PackageType, Runtime,
};
use common::sdk_conf as conf;
use common::*;
use serde_json::{json, Value};

const REGIONS: &str = "us-east-1,eu-west-1";
const ACCOUNT: &str = "123456789012";

fn python(text: &str) -> Vec<u8> {
    stored_zip(&[(
        "index.py",
        format!("def handler(event, context):\n    return {text:?}\n").as_bytes(),
    )])
}

fn arn(region: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}")
}

/// The folder of one region's functions in snapshot `snap`.
fn region_dir(snap: &Path, region: &str) -> PathBuf {
    snap.join(format!("lambda_functions/{ACCOUNT}/{region}"))
}

/// The coverage lines of snapshot `snap` of `kind`: `(region, state)`, with the error's action.
fn coverage(snap: &Path, kind: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> =
        std::fs::read_to_string(snap.join("catalog/coverage.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|c| c["kind"] == kind)
            .map(|c| {
                assert_eq!(c["account"], ACCOUNT, "{c}");
                (
                    c["region"].as_str().unwrap().to_string(),
                    c["state"].as_str().unwrap().to_string(),
                    c["error"]["action"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
    out.sort();
    out
}

fn function_id(region: &str, name: &str) -> String {
    format!("aws.lambda.function:{ACCOUNT}:{region}:{name}")
}

/// Every line of the zip index files under `index/lambda_functions/<account>/` of `snap`.
fn index_lines(snap: &Path) -> Vec<Value> {
    let dir = snap.join(format!("index/lambda_functions/{ACCOUNT}"));
    if !dir.exists() {
        return Vec::new();
    }
    walk_files(&dir)
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn is_marker(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.starts_with("<redacted fp:") && s.ends_with('>'))
}

struct Run {
    code: i32,
    meta: Value,
    out: String,
    err: String,
}

/// `snapshot --only lambda` in both regions; with `json_out`, the metadata from stdout, else
/// from the snapshot folder (and the run logs verbosely).
fn run(repo: &Path, endpoint: &str, label: &str, json_out: bool) -> Run {
    let mut args: Vec<&str> = vec![if json_out { "--json" } else { "-vv" }];
    args.extend([
        "snapshot",
        "--label",
        label,
        "--only",
        "lambda",
        "--regions",
        REGIONS,
    ]);
    let o = infrasnap(repo, endpoint, &args);
    let meta = if json_out {
        serde_json::from_slice::<Value>(&o.stdout)
            .unwrap_or_else(|e| panic!("json output: {e}\n{}\n{}", stdout(&o), stderr(&o)))
            ["metadata"]
            .clone()
    } else {
        read_json(&repo.join(label).join("snapshot_metadata.json"))
    };
    Run {
        code: o.status.code().unwrap_or(-1),
        meta,
        out: stdout(&o),
        err: stderr(&o),
    }
}

#[track_caller]
fn assert_ok(r: &Run) {
    assert_eq!(
        r.code, 0,
        "exit code; stdout:\n{}\nstderr:\n{}",
        r.out, r.err
    );
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walk_files(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

/// Fail if any planted value is in any file under `repo` (blobs included) or in the outputs.
#[track_caller]
fn assert_nowhere(repo: &Path, planted: &[(&str, String)], outputs: &[&str]) {
    let files = walk_files(repo);
    assert!(files.len() > 10, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for (what, p) in planted {
            assert!(
                !contains(&bytes, p.as_bytes()),
                "{what} found in {}",
                f.display()
            );
        }
    }
    for o in outputs {
        for (what, p) in planted {
            assert!(!o.contains(p.as_str()), "{what} found in the output:\n{o}");
        }
    }
}

async fn lambda_role(endpoint: &str) -> String {
    let iam = aws_sdk_iam::Client::new(&conf(endpoint, "us-east-1").await);
    iam.create_role()
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
        .to_string()
}

/// A python3.12 function with zip code; gives back its CodeSha256.
async fn create_zip_function(
    c: &aws_sdk_lambda::Client,
    role: &str,
    name: &str,
    zip: &[u8],
    env: &[(&str, &str)],
    layers: &[&str],
) -> String {
    let mut req = c
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role(role)
        .handler("index.handler")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip.to_vec()))
                .build(),
        );
    if !env.is_empty() {
        let mut e = Environment::builder();
        for (k, v) in env {
            e = e.variables(*k, *v);
        }
        req = req.environment(e.build());
    }
    for l in layers {
        req = req.layers(*l);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {:?}", e.into_service_error()))
        .code_sha256()
        .unwrap()
        .to_string()
}

async fn publish_layer(c: &aws_sdk_lambda::Client, name: &str, zip: &[u8]) -> (String, String) {
    let l = c
        .publish_layer_version()
        .layer_name(name)
        .description("shared python libraries")
        .compatible_runtimes(Runtime::Python312)
        .content(
            LayerVersionContentInput::builder()
                .zip_file(Blob::new(zip.to_vec()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    (
        l.layer_version_arn().unwrap().to_string(),
        l.content().unwrap().code_sha256().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_layers_and_attachments_are_captured_and_unchanged_code_is_not_downloaded_again()
{
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let us = aws_sdk_lambda::Client::new(&conf(&url, "us-east-1").await);
    let eu = aws_sdk_lambda::Client::new(&conf(&url, "eu-west-1").await);
    let role = lambda_role(&url).await;

    // Planted values, fresh for every run.
    let db_password = format!("Pw-{}", alnum(24));
    let api_token = format!("tok_{}", alnum(32));
    let key_id = format!("AKIA{}", random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let key_secret = alnum(40);
    let key_in_description = format!("AKIA{}", random(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let planted: Vec<(&str, String)> = vec![
        ("DB_PASSWORD value", db_password.clone()),
        ("API_TOKEN value", api_token.clone()),
        ("UPSTREAM_KEY_ID value", key_id.clone()),
        ("UPSTREAM_SECRET value", key_secret.clone()),
        ("access key in a description", key_in_description.clone()),
    ];

    // --- Layer `shared-libs`, two versions.
    let layer1_zip = stored_zip(&[("python/libs.py", b"VERSION = 1\n")]);
    let layer2_zip = stored_zip(&[
        ("python/libs.py", b"VERSION = 2\n"),
        ("python/extra.py", b"X = 1\n"),
    ]);
    let (layer1, layer1_sha) = publish_layer(&us, "shared-libs", &layer1_zip).await;
    let (layer2, layer2_sha) = publish_layer(&us, "shared-libs", &layer2_zip).await;
    assert_eq!(
        layer1,
        format!("arn:aws:lambda:us-east-1:{ACCOUNT}:layer:shared-libs:1")
    );
    assert_eq!(
        layer2,
        format!("arn:aws:lambda:us-east-1:{ACCOUNT}:layer:shared-libs:2")
    );

    // --- us-east-1: api-handler (everything attached), worker, reporter.
    let api_zip = python("api");
    let api_sha = create_zip_function(
        &us,
        &role,
        "api-handler",
        &api_zip,
        &[
            ("DB_PASSWORD", &db_password),
            ("API_TOKEN", &api_token),
            ("LOG_LEVEL", "info"),
        ],
        &[&layer2],
    )
    .await;
    us.update_function_configuration()
        .function_name("api-handler")
        .description(format!("public API (legacy key {key_in_description})"))
        .memory_size(256)
        .timeout(30)
        .send()
        .await
        .unwrap();
    us.tag_resource()
        .resource(arn("us-east-1", "api-handler"))
        .tags("team", "core")
        .tags("env", "prod")
        .send()
        .await
        .unwrap();
    let v1 = us
        .publish_version()
        .function_name("api-handler")
        .description("first release")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.version(), Some("1"));
    us.create_alias()
        .function_name("api-handler")
        .name("live")
        .function_version("1")
        .description("production traffic")
        .send()
        .await
        .unwrap();
    us.add_permission()
        .function_name("api-handler")
        .statement_id("allow-s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::uploads-bucket")
        .send()
        .await
        .unwrap();
    us.create_function_url_config()
        .function_name("api-handler")
        .auth_type(FunctionUrlAuthType::None)
        .cors(
            Cors::builder()
                .allow_origins("https://www.example.com")
                .allow_methods("GET")
                .max_age(300)
                .build(),
        )
        .send()
        .await
        .unwrap();
    us.put_function_concurrency()
        .function_name("api-handler")
        .reserved_concurrent_executions(5)
        .send()
        .await
        .unwrap();
    // An event source mapping on a DynamoDB stream.
    let ddb = aws_sdk_dynamodb::Client::new(&conf(&url, "us-east-1").await);
    {
        use aws_sdk_dynamodb::types::*;
        let t = ddb
            .create_table()
            .table_name("orders")
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let stream = t
            .table_description()
            .unwrap()
            .latest_stream_arn()
            .unwrap()
            .to_string();
        us.create_event_source_mapping()
            .function_name("api-handler")
            .event_source_arn(&stream)
            .starting_position(EventSourcePosition::Latest)
            .batch_size(50)
            .send()
            .await
            .unwrap();
    }
    let stream_arn = ddb
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_string();

    let worker_zip = python("worker");
    let worker_sha = create_zip_function(
        &us,
        &role,
        "worker",
        &worker_zip,
        &[
            ("UPSTREAM_KEY_ID", &key_id),
            ("UPSTREAM_SECRET", &key_secret),
        ],
        &[&layer1],
    )
    .await;
    let reporter_zip = python("reporter");
    create_zip_function(&us, &role, "reporter", &reporter_zip, &[], &[&layer2]).await;

    // --- eu-west-1: a zip function without environment, and a container-image function.
    let eu_zip = python("eu");
    create_zip_function(&eu, &role, "eu-zip", &eu_zip, &[], &[]).await;
    let image_uri = format!("{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/app:1.0");
    eu.create_function()
        .function_name("eu-image")
        .role(&role)
        .package_type(PackageType::Image)
        .code(FunctionCode::builder().image_uri(&image_uri).build())
        .send()
        .await
        .unwrap();

    let standin = emu.proxy.lambda_code();
    assert_eq!(standin.downloads(), 0);
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    // ---------------------------------------------------------------- first snapshot
    let first = run(&repo, &url, "first", true);
    assert_ok(&first);
    let meta = &first.meta;
    let c = &meta["collectors"]["lambda"];
    assert_eq!(c["status"], "complete", "{c:#}");
    assert_eq!(c["errors"], json!([]));
    assert_eq!(c["counts"]["functions"], 5, "{c:#}");
    assert_eq!(c["counts"]["layers"], 2, "{c:#}");
    assert_eq!(c["counts"]["versions"], 1, "{c:#}");
    assert_eq!(c["counts"]["aliases"], 1, "{c:#}");
    // Four function zips and two layer versions, each downloaded once.
    assert_eq!(c["counts"]["code_downloaded"], 6, "{c:#}");
    assert_eq!(c["counts"]["code_linked"], 0, "{c:#}");
    assert_eq!(standin.downloads(), 6);
    let snap1 = repo.join("first");
    let us_dir = region_dir(&snap1, "us-east-1");
    let eu_dir = region_dir(&snap1, "eu-west-1");

    // Zips, byte for byte.
    for (dir, name, zip) in [
        (&us_dir, "api-handler", &api_zip),
        (&us_dir, "worker", &worker_zip),
        (&us_dir, "reporter", &reporter_zip),
        (&eu_dir, "eu-zip", &eu_zip),
    ] {
        let got = std::fs::read(dir.join(format!("function_code/{name}.zip"))).unwrap();
        assert!(got == *zip, "{name}.zip differs");
    }
    assert!(!eu_dir.join("function_code/eu-image.zip").exists());
    assert_eq!(
        std::fs::read(us_dir.join("layers/shared-libs%3A1.zip")).unwrap(),
        layer1_zip
    );
    assert_eq!(
        std::fs::read(us_dir.join("layers/shared-libs%3A2.zip")).unwrap(),
        layer2_zip
    );

    // api-handler, field by field.
    let f = read_json(&us_dir.join("function_config/api-handler.json"));
    let api_arn = arn("us-east-1", "api-handler");
    assert_eq!(f["Region"], "us-east-1");
    assert_eq!(f["FunctionName"], "api-handler");
    assert_eq!(f["FunctionArn"], api_arn);
    assert_eq!(f["PackageType"], "Zip");
    assert_eq!(f["CodeSha256"], api_sha);
    let cfg = &f["Configuration"];
    assert_eq!(cfg["FunctionName"], "api-handler");
    assert_eq!(cfg["Runtime"], "python3.12");
    assert_eq!(cfg["Handler"], "index.handler");
    assert_eq!(cfg["Role"], role);
    assert_eq!(cfg["MemorySize"], 256);
    assert_eq!(cfg["Timeout"], 30);
    assert_eq!(cfg["CodeSha256"], api_sha);
    assert_eq!(cfg["CodeSize"], api_zip.len());
    assert_eq!(cfg["Layers"][0]["Arn"], layer2);
    let desc = cfg["Description"].as_str().unwrap();
    assert!(
        desc.starts_with("public API (legacy key <redacted fp:"),
        "{desc}"
    );
    let vars = cfg["Environment"]["Variables"].as_object().unwrap();
    assert_eq!(
        vars.keys().collect::<Vec<_>>(),
        ["API_TOKEN", "DB_PASSWORD", "LOG_LEVEL"]
    );
    assert!(vars.values().all(is_marker), "{vars:?}");
    assert_eq!(f["Code"]["RepositoryType"], "S3");
    assert!(f["Code"].get("Location").is_none(), "{:#}", f["Code"]);
    assert_eq!(f["Layers"], json!([layer2]));
    assert_eq!(f["Tags"], json!({"env": "prod", "team": "core"}));
    assert_eq!(f["ReservedConcurrentExecutions"], 5);
    // moto lacks ListProvisionedConcurrencyConfigs: said so, not an error.
    assert!(
        f["ProvisionedConcurrencyConfigs"]["Unavailable"]
            .as_str()
            .is_some_and(|s| s.contains("ListProvisionedConcurrencyConfigs")),
        "{:#}",
        f["ProvisionedConcurrencyConfigs"]
    );
    let versions = f["Versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1, "{versions:#?}");
    assert_eq!(versions[0]["Version"], "1");
    assert_eq!(versions[0]["Description"], "first release");
    assert_eq!(versions[0]["CodeSha256"], api_sha);
    assert!(versions[0]["Environment"]["Variables"]
        .as_object()
        .unwrap()
        .values()
        .all(is_marker));
    let aliases = f["Aliases"].as_array().unwrap();
    assert_eq!(aliases.len(), 1);
    assert_eq!(aliases[0]["Name"], "live");
    assert_eq!(aliases[0]["FunctionVersion"], "1");
    assert_eq!(aliases[0]["Description"], "production traffic");
    assert_eq!(aliases[0]["AliasArn"], format!("{api_arn}:live"));
    let st = &f["Policy"]["Statement"][0];
    assert_eq!(f["Policy"]["Version"], "2012-10-17");
    assert_eq!(st["Sid"], "allow-s3");
    assert_eq!(st["Effect"], "Allow");
    assert_eq!(st["Action"], "lambda:InvokeFunction");
    assert_eq!(st["Principal"]["Service"], "s3.amazonaws.com");
    assert_eq!(
        st["Condition"]["ArnLike"]["AWS:SourceArn"],
        "arn:aws:s3:::uploads-bucket"
    );
    let esm = f["EventSourceMappings"].as_array().unwrap();
    assert_eq!(esm.len(), 1);
    assert_eq!(esm[0]["EventSourceArn"], stream_arn);
    assert_eq!(esm[0]["FunctionArn"], api_arn);
    assert_eq!(esm[0]["BatchSize"], 50);
    assert_eq!(esm[0]["StartingPosition"], "LATEST");
    assert!(esm[0].get("LastProcessingResult").is_none());
    let urls = f["FunctionUrlConfigs"].as_array().unwrap();
    assert_eq!(urls.len(), 1, "{urls:#?}");
    assert_eq!(urls[0]["AuthType"], "NONE");
    assert_eq!(
        urls[0]["Cors"]["AllowOrigins"],
        json!(["https://www.example.com"])
    );
    assert_eq!(urls[0]["Cors"]["MaxAge"], 300);
    assert!(urls[0]["FunctionUrl"]
        .as_str()
        .unwrap()
        .contains(".lambda-url.us-east-1.on.aws"));
    assert!(f.get("CodeSigningConfig").is_none());
    assert!(f.get("Unreadable").is_none());

    // Environment files: names and markers; one value, one marker, in every file.
    let env = read_json(&us_dir.join("function_env_vars/api-handler.json"));
    assert_eq!(env["FunctionName"], "api-handler");
    assert_eq!(env["FunctionArn"], api_arn);
    let ev = env["Variables"].as_object().unwrap();
    assert_eq!(ev.len(), 3);
    assert!(ev.values().all(is_marker), "{ev:?}");
    assert_eq!(Value::Object(ev.clone()), cfg["Environment"]["Variables"]);
    assert_eq!(
        ev["DB_PASSWORD"],
        versions[0]["Environment"]["Variables"]["DB_PASSWORD"]
    );
    assert_ne!(ev["DB_PASSWORD"], ev["API_TOKEN"]);
    let wenv = read_json(&us_dir.join("function_env_vars/worker.json"));
    assert_eq!(
        wenv["Variables"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["UPSTREAM_KEY_ID", "UPSTREAM_SECRET"]
    );
    assert!(!us_dir.join("function_env_vars/reporter.json").exists());
    assert!(!eu_dir.join("function_env_vars/eu-zip.json").exists());

    // worker and reporter: the other layer version, and the shared one.
    let w = read_json(&us_dir.join("function_config/worker.json"));
    assert_eq!(w["CodeSha256"], worker_sha);
    assert_eq!(w["Layers"], json!([layer1]));
    assert_eq!(w["Versions"], json!([]));
    assert_eq!(w["Aliases"], json!([]));
    assert_eq!(w["EventSourceMappings"], json!([]));
    assert_eq!(w["FunctionUrlConfigs"], json!([]));
    assert_eq!(w["Tags"], json!({}));
    assert!(w.get("Policy").is_none());
    assert!(w.get("ReservedConcurrentExecutions").is_none());
    let r = read_json(&us_dir.join("function_config/reporter.json"));
    assert_eq!(r["Layers"], json!([layer2]));

    // The layer versions: described once each, zip stored once though two functions use v2.
    let l2 = read_json(&us_dir.join("layers/shared-libs%3A2.json"));
    assert_eq!(l2["LayerVersionArn"], layer2);
    assert_eq!(l2["Version"], 2);
    assert_eq!(l2["Description"], "shared python libraries");
    assert_eq!(l2["CompatibleRuntimes"], json!(["python3.12"]));
    assert_eq!(l2["Content"]["CodeSha256"], layer2_sha);
    assert_eq!(l2["Content"]["CodeSize"], layer2_zip.len());
    assert!(l2["Content"].get("Location").is_none());
    let l1 = read_json(&us_dir.join("layers/shared-libs%3A1.json"));
    assert_eq!(l1["Content"]["CodeSha256"], layer1_sha);
    // One index file per zip: the function's or the layer version's own, one line each.
    let layer2_index = snap1.join(format!(
        "index/lambda_functions/{ACCOUNT}/us-east-1/layers/shared-libs%3A2.jsonl"
    ));
    let index = std::fs::read_to_string(&layer2_index).unwrap();
    let layer2_lines: Vec<Value> = index
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(layer2_lines.len(), 1, "{index}");
    assert_eq!(
        layer2_lines[0]["path"],
        format!("lambda_functions/{ACCOUNT}/us-east-1/layers/shared-libs%3A2.zip")
    );
    assert_eq!(layer2_lines[0]["code_sha256"], layer2_sha);
    assert_eq!(layer2_lines[0]["arn"], layer2);
    let lines = index_lines(&snap1);
    assert_eq!(lines.len(), 6, "{lines:#?}");
    for l in &lines {
        let zip = snap1.join(l["path"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&zip).unwrap().len(),
            l["size"].as_u64().unwrap()
        );
    }
    let mut layer_files: Vec<String> = walk_files(&us_dir.join("layers"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    layer_files.sort();
    assert_eq!(
        layer_files,
        [
            "shared-libs%3A1.json",
            "shared-libs%3A1.zip",
            "shared-libs%3A2.json",
            "shared-libs%3A2.zip"
        ]
    );

    // The catalog: every function and layer version in use, with its parts and index file.
    let cat1 = catalog_records(&snap1);
    let mut ids: Vec<&str> = cat1.keys().map(String::as_str).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            function_id("eu-west-1", "eu-image"),
            function_id("eu-west-1", "eu-zip"),
            function_id("us-east-1", "api-handler"),
            function_id("us-east-1", "reporter"),
            function_id("us-east-1", "worker"),
            format!("aws.lambda.layer_version:{ACCOUNT}:us-east-1:shared-libs:1"),
            format!("aws.lambda.layer_version:{ACCOUNT}:us-east-1:shared-libs:2"),
        ]
    );
    let api_rec = &cat1[&function_id("us-east-1", "api-handler")];
    let us_rel = format!("lambda_functions/{ACCOUNT}/us-east-1");
    assert_eq!(
        api_rec["path"],
        format!("{us_rel}/function_config/api-handler.json")
    );
    assert_eq!(
        api_rec["parts"]["code.zip"]["path"],
        format!("{us_rel}/function_code/api-handler.zip")
    );
    assert_eq!(api_rec["parts"]["code.zip"]["size"], api_zip.len());
    assert_eq!(
        api_rec["parts"]["env.json"]["path"],
        format!("{us_rel}/function_env_vars/api-handler.json")
    );
    assert_eq!(
        api_rec["index"],
        format!("index/lambda_functions/{ACCOUNT}/us-east-1/api-handler.jsonl")
    );
    let image_rec = &cat1[&function_id("eu-west-1", "eu-image")];
    assert!(image_rec.get("parts").is_none(), "{image_rec:#}");
    assert!(image_rec.get("index").is_none(), "{image_rec:#}");
    let layer_rec = &cat1[&format!("aws.lambda.layer_version:{ACCOUNT}:us-east-1:shared-libs:2")];
    assert_eq!(
        layer_rec["path"],
        format!("{us_rel}/layers/shared-libs%3A2.json")
    );
    assert_eq!(
        layer_rec["parts"]["code.zip"]["path"],
        format!("{us_rel}/layers/shared-libs%3A2.zip")
    );
    // ListFunctions, in both regions; layer versions are not listed, so not covered.
    assert_eq!(
        coverage(&snap1, "aws.lambda.function"),
        [
            ("eu-west-1".into(), "complete".into(), String::new()),
            ("us-east-1".into(), "complete".into(), String::new()),
        ]
    );
    assert_eq!(coverage(&snap1, "aws.lambda.layer_version"), []);

    // eu-west-1: the image function records its image, no code.
    let img = read_json(&eu_dir.join("function_config/eu-image.json"));
    assert_eq!(img["PackageType"], "Image");
    assert_eq!(img["Code"]["RepositoryType"], "ECR");
    assert_eq!(img["Code"]["ImageUri"], image_uri);
    let ez = read_json(&eu_dir.join("function_config/eu-zip.json"));
    assert_eq!(ez["Region"], "eu-west-1");
    assert_eq!(ez["FunctionArn"], arn("eu-west-1", "eu-zip"));
    assert!(!eu_dir.join("layers").exists());

    // MANIFEST.md: a Lambda section.
    let manifest = std::fs::read_to_string(snap1.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("Lambda functions"), "{manifest}");
    assert!(
        manifest.contains("| `api-handler` | us-east-1 | python3.12 | downloaded |"),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!("| `{layer2}` | us-east-1 | downloaded |")),
        "{manifest}"
    );

    // ---------------------------------------------------------------- unchanged: nothing new
    let blobs = blob_count(&repo);
    let second = run(&repo, &url, "second", false);
    assert_ok(&second);
    let c2 = &second.meta["collectors"]["lambda"];
    assert_eq!(c2["status"], "complete", "{c2:#}");
    assert_eq!(c2["counts"]["code_downloaded"], 0, "{c2:#}");
    assert_eq!(c2["counts"]["code_linked"], 6, "{c2:#}");
    assert_eq!(c2["blobs_new"], 0, "{c2:#}");
    assert_eq!(
        standin.downloads(),
        6,
        "an unchanged snapshot downloaded code"
    );
    assert_eq!(
        blob_count(&repo),
        blobs,
        "an unchanged snapshot added blobs"
    );
    assert_eq!(
        tree(&snap1.join("lambda_functions")),
        tree(&repo.join("second/lambda_functions")),
        "an unchanged estate gave different files"
    );
    let cat2 = catalog_records(&repo.join("second"));
    assert_eq!(
        cat2.keys().collect::<Vec<_>>(),
        cat1.keys().collect::<Vec<_>>()
    );
    for (id, r) in &cat1 {
        assert_eq!(cat2[id]["digest"], r["digest"], "{id}");
        assert_eq!(cat2[id]["parts"], r["parts"], "{id}");
    }

    // ---------------------------------------------------------------- changed code
    let worker_zip2 = python("worker, second release");
    let worker_sha2 = us
        .update_function_code()
        .function_name("worker")
        .zip_file(Blob::new(worker_zip2.clone()))
        .send()
        .await
        .unwrap()
        .code_sha256()
        .unwrap()
        .to_string();
    assert_ne!(worker_sha2, worker_sha);
    let third = run(&repo, &url, "third", true);
    assert_ok(&third);
    let c3 = &third.meta["collectors"]["lambda"];
    assert_eq!(c3["counts"]["code_downloaded"], 1, "{c3:#}");
    assert_eq!(c3["counts"]["code_linked"], 5, "{c3:#}");
    assert_eq!(standin.downloads(), 7);
    let us3 = region_dir(&repo.join("third"), "us-east-1");
    assert_eq!(
        std::fs::read(us3.join("function_code/worker.zip")).unwrap(),
        worker_zip2
    );
    assert_eq!(
        read_json(&us3.join("function_config/worker.json"))["CodeSha256"],
        worker_sha2
    );
    let cat3 = catalog_records(&repo.join("third"));
    let worker = function_id("us-east-1", "worker");
    assert_ne!(cat3[&worker]["digest"], cat1[&worker]["digest"]);
    let api = function_id("us-east-1", "api-handler");
    assert_eq!(cat3[&api]["digest"], cat1[&api]["digest"]);
    assert_eq!(
        std::fs::read(us3.join("function_code/api-handler.zip")).unwrap(),
        api_zip
    );

    assert_code(&infrasnap(&repo, &url, &["verify", "--all"]), 0);
    assert_nowhere(
        &repo,
        &planted,
        &[
            &first.out,
            &first.err,
            &second.out,
            &second.err,
            &third.out,
            &third.err,
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_failing_its_sha256_is_retried_once_then_recorded_and_never_stored() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let us = aws_sdk_lambda::Client::new(&conf(&url, "us-east-1").await);
    let role = lambda_role(&url).await;
    let zip1 = python("one");
    create_zip_function(&us, &role, "single", &zip1, &[], &[]).await;
    let standin = emu.proxy.lambda_code();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    // One corrupted transfer: the retry gets good bytes.
    standin.corrupt_next(1);
    let first = run(&repo, &url, "first", true);
    assert_ok(&first);
    assert_eq!(standin.downloads(), 2);
    let dir = region_dir(&repo.join("first"), "us-east-1");
    assert_eq!(
        std::fs::read(dir.join("function_code/single.zip")).unwrap(),
        zip1
    );

    // Two corrupted transfers: recorded, and no zip (good or bad) in the tree or the store.
    let zip2 = python("two");
    us.update_function_code()
        .function_name("single")
        .zip_file(Blob::new(zip2.clone()))
        .send()
        .await
        .unwrap();
    standin.corrupt_next(2);
    let second = run(&repo, &url, "second", true);
    assert_eq!(second.code, 3, "{}\n{}", second.out, second.err);
    assert_eq!(standin.downloads(), 4);
    let c = &second.meta["collectors"]["lambda"];
    assert_eq!(c["status"], "partial", "{c:#}");
    let errors = c["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["action"], "lambda:GetFunction");
    assert_eq!(errors[0]["resource"], arn("us-east-1", "single"));
    assert_eq!(errors[0]["code"], "ChecksumMismatch");
    let dir2 = region_dir(&repo.join("second"), "us-east-1");
    assert!(!dir2.join("function_code/single.zip").exists());
    let f = read_json(&dir2.join("function_config/single.json"));
    assert_eq!(
        f["Unreadable"],
        json!([{"Action": "lambda:GetFunction", "Code": "ChecksumMismatch", "Field": "Code"}])
    );
    let mut bad = zip2.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x5a;
    for p in walk_files(&repo) {
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            bytes != bad && bytes != zip2,
            "{} holds the code",
            p.display()
        );
    }
    // No index line for it (so the next run downloads it), no part in the catalog.
    assert_eq!(index_lines(&repo.join("second")), Vec::<Value>::new());
    let rec = &catalog_records(&repo.join("second"))[&function_id("us-east-1", "single")];
    assert!(rec.get("parts").is_none(), "{rec:#}");

    let third = run(&repo, &url, "third", true);
    assert_ok(&third);
    assert_eq!(standin.downloads(), 5);
    assert_eq!(
        std::fs::read(
            region_dir(&repo.join("third"), "us-east-1").join("function_code/single.zip")
        )
        .unwrap(),
        zip2
    );
}

/// Make snapshot `snap` look like format 1 for Lambda: no catalog, and its zip index lines in one
/// file per region at `legacy_rel` (`{region}` filled in).
fn make_format_1(snap: &Path, legacy_rel: &str) {
    let lines = index_lines(snap);
    assert!(!lines.is_empty());
    // Format 1 snapshots have no seal, and no `seal` in their metadata.
    std::fs::remove_file(snap.join("snapshot_seal.json")).unwrap();
    let meta_path = snap.join("snapshot_metadata.json");
    let mut m = read_json(&meta_path);
    m.as_object_mut().unwrap().remove("seal");
    std::fs::write(&meta_path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    std::fs::remove_dir_all(snap.join("catalog")).unwrap();
    std::fs::remove_dir_all(snap.join(format!("index/lambda_functions/{ACCOUNT}"))).unwrap();
    let mut by_region: BTreeMap<String, String> = BTreeMap::new();
    for l in lines {
        let region = l["arn"].as_str().unwrap().split(':').nth(3).unwrap();
        let text = by_region.entry(region.to_string()).or_default();
        text.push_str(&serde_json::to_string(&l).unwrap());
        text.push('\n');
    }
    for (region, text) in by_region {
        let p = snap.join(legacy_rel.replace("{region}", &region));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zips_listed_by_format_1_snapshots_are_linked_not_downloaded() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let us = aws_sdk_lambda::Client::new(&conf(&url, "us-east-1").await);
    let role = lambda_role(&url).await;
    let zip = python("legacy");
    create_zip_function(&us, &role, "legacy", &zip, &[], &[]).await;
    let standin = emu.proxy.lambda_code();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");

    let first = run(&repo, &url, "first", true);
    assert_ok(&first);
    assert_eq!(standin.downloads(), 1);

    // One account: `index/lambda_functions/<region>.jsonl`.
    make_format_1(&repo.join("first"), "index/lambda_functions/{region}.jsonl");
    let second = run(&repo, &url, "second", true);
    assert_ok(&second);
    let c = &second.meta["collectors"]["lambda"];
    assert_eq!(c["counts"]["code_linked"], 1, "{c:#}");
    assert_eq!(c["counts"]["code_downloaded"], 0, "{c:#}");
    assert_eq!(standin.downloads(), 1);

    // Several accounts: `index/aws_accounts/<account>/lambda_functions/<region>.jsonl`.
    make_format_1(
        &repo.join("second"),
        &format!("index/aws_accounts/{ACCOUNT}/lambda_functions/{{region}}.jsonl"),
    );
    let third = run(&repo, &url, "third", true);
    assert_ok(&third);
    let c = &third.meta["collectors"]["lambda"];
    assert_eq!(c["counts"]["code_linked"], 1, "{c:#}");
    assert_eq!(standin.downloads(), 1);
    assert_eq!(
        std::fs::read(
            region_dir(&repo.join("third"), "us-east-1").join("function_code/legacy.zip")
        )
        .unwrap(),
        zip
    );
    // The new snapshot lists the zip in the function's own index file again.
    assert_eq!(index_lines(&repo.join("third")).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_calls_are_recorded_with_action_and_resource_and_the_rest_is_captured() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let us = aws_sdk_lambda::Client::new(&conf(&url, "us-east-1").await);
    let role = lambda_role(&url).await;
    let api_zip = python("api");
    let worker_zip = python("worker");
    create_zip_function(&us, &role, "api", &api_zip, &[], &[]).await;
    us.add_permission()
        .function_name("api")
        .statement_id("allow-sns")
        .action("lambda:InvokeFunction")
        .principal("sns.amazonaws.com")
        .send()
        .await
        .unwrap();
    create_zip_function(&us, &role, "worker", &worker_zip, &[("MODE", "batch")], &[]).await;
    us.tag_resource()
        .resource(arn("us-east-1", "worker"))
        .tags("team", "data")
        .send()
        .await
        .unwrap();
    us.put_function_concurrency()
        .function_name("worker")
        .reserved_concurrent_executions(2)
        .send()
        .await
        .unwrap();

    // GetFunction of worker and GetPolicy of api are denied; so is ListFunctions in eu-west-1
    // (the region is in the signature's scope).
    let deny = [
        ("GET", "/2015-03-31/functions/worker", "lambda:GetFunction"),
        (
            "GET",
            "/2015-03-31/functions/api/policy",
            "lambda:GetPolicy",
        ),
    ];
    let stub = stub_proxy(&url, move |r| {
        let path = r.path.split('?').next().unwrap_or("");
        let eu = r
            .header("authorization")
            .is_some_and(|a| a.contains("/eu-west-1/lambda/"));
        let list = (eu && r.method == "GET" && path == "/2015-03-31/functions")
            .then_some(&("GET", "/2015-03-31/functions", "lambda:ListFunctions"));
        list.or_else(|| deny.iter().find(|(m, p, _)| *m == r.method && *p == path))
            .map(|(_, _, action)| Canned {
                status: 403,
                content_type: "application/json",
                extra_headers: "x-amzn-ErrorType: AccessDeniedException\r\n".into(),
                body: format!(
                    "{{\"Message\":\"User: arn:aws:iam::{ACCOUNT}:user/auditor is not authorized to perform: {action}\"}}"
                ),
            })
    })
    .await;

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(
        &repo,
        &stub,
        &[
            "--json",
            "snapshot",
            "--label",
            "denied",
            "--only",
            "lambda",
            "--regions",
            "us-east-1,eu-west-1",
        ],
    );
    assert_code(&o, 3);
    let meta: Value = serde_json::from_slice::<Value>(&o.stdout).unwrap()["metadata"].clone();
    let c = &meta["collectors"]["lambda"];
    assert_eq!(c["status"], "partial", "{c:#}");
    let mut errors: Vec<(String, String, String)> = c["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["resource"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            (
                "lambda:GetFunction".to_string(),
                arn("us-east-1", "worker"),
                "AccessDeniedException".to_string()
            ),
            (
                "lambda:GetPolicy".to_string(),
                arn("us-east-1", "api"),
                "AccessDeniedException".to_string()
            ),
            (
                "lambda:ListFunctions".to_string(),
                format!("arn:aws:lambda:eu-west-1:{ACCOUNT}:function:*"),
                "AccessDeniedException".to_string()
            ),
        ]
    );

    // The denied listing is failed coverage; the other is complete, denied calls on its
    // functions notwithstanding.
    let snap = repo.join("denied");
    assert_eq!(
        coverage(&snap, "aws.lambda.function"),
        [
            (
                "eu-west-1".into(),
                "failed".into(),
                "lambda:ListFunctions".into()
            ),
            ("us-east-1".into(), "complete".into(), String::new()),
        ]
    );
    let cat = catalog_records(&snap);
    assert_eq!(
        cat.keys().collect::<Vec<_>>(),
        [
            &function_id("us-east-1", "api"),
            &function_id("us-east-1", "worker")
        ]
    );
    let w = &cat[&function_id("us-east-1", "worker")];
    assert!(w["parts"].get("code.zip").is_none(), "{w:#}");
    assert!(w["parts"].get("env.json").is_some(), "{w:#}");

    let dir = region_dir(&snap, "us-east-1");
    // api: everything but its policy.
    assert_eq!(
        std::fs::read(dir.join("function_code/api.zip")).unwrap(),
        api_zip
    );
    let a = read_json(&dir.join("function_config/api.json"));
    assert!(a.get("Policy").is_none());
    assert_eq!(
        a["Unreadable"],
        json!([{"Action": "lambda:GetPolicy", "Code": "AccessDeniedException", "Field": "Policy"}])
    );
    // worker: configuration, tags and concurrency from the other calls; no code.
    assert!(!dir.join("function_code/worker.zip").exists());
    let w = read_json(&dir.join("function_config/worker.json"));
    assert_eq!(w["Configuration"]["FunctionName"], "worker");
    assert!(is_marker(
        &w["Configuration"]["Environment"]["Variables"]["MODE"]
    ));
    assert_eq!(w["Tags"], json!({"team": "data"}));
    assert_eq!(w["ReservedConcurrentExecutions"], 2);
    assert_eq!(
        w["Unreadable"],
        json!([{"Action": "lambda:GetFunction", "Code": "AccessDeniedException", "Field": "Code"}])
    );
    assert!(dir.join("function_env_vars/worker.json").is_file());
    // The manifest's policy snippet asks for exactly the denied actions.
    let manifest = std::fs::read_to_string(repo.join("denied/MANIFEST.md")).unwrap();
    assert!(manifest.contains("lambda:GetFunction"), "{manifest}");
    assert!(manifest.contains("lambda:GetPolicy"), "{manifest}");
}

/// A server that hands out the same `NextMarker` again must not make ListFunctions loop for ever,
/// nor pass the functions read so far off as the whole listing (Lambda's paging used to stop
/// quietly there): the collector kit's paging, inside Lambda's rate limit, fails the listing, and
/// the region's coverage is `failed` with `RepeatedPageToken`. The other region is complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_next_marker_fails_list_functions_instead_of_passing_it_off_as_complete() {
    let emu = Emulator::start().await.unwrap();
    let url = emu.url();
    let us = aws_sdk_lambda::Client::new(&conf(&url, "us-east-1").await);
    let role = lambda_role(&url).await;
    create_zip_function(&us, &role, "api", &python("api"), &[], &[]).await;
    let stub = stub_proxy(&url, move |r| {
        let path = r.path.split('?').next().unwrap_or("");
        let eu = r
            .header("authorization")
            .is_some_and(|a| a.contains("/eu-west-1/lambda/"));
        (eu && r.method == "GET" && path == "/2015-03-31/functions").then(|| Canned {
            status: 200,
            content_type: "application/json",
            extra_headers: String::new(),
            body: r#"{"Functions":[],"NextMarker":"same-again"}"#.into(),
        })
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(
        &repo,
        &stub,
        &[
            "--json",
            "snapshot",
            "--label",
            "repeated",
            "--only",
            "lambda",
            "--regions",
            REGIONS,
        ],
    );
    assert_code(&o, 3);
    let meta: Value = serde_json::from_slice::<Value>(&o.stdout).unwrap()["metadata"].clone();
    let c = &meta["collectors"]["lambda"];
    assert_eq!(c["status"], "partial", "{c:#}");
    let e = &c["errors"][0];
    assert_eq!(e["action"], "lambda:ListFunctions", "{c:#}");
    assert_eq!(e["code"], "RepeatedPageToken", "{c:#}");
    assert!(
        e["message"].as_str().unwrap().contains("not complete"),
        "{e:#}"
    );
    let snap = repo.join("repeated");
    assert_eq!(
        coverage(&snap, "aws.lambda.function"),
        [
            (
                "eu-west-1".to_string(),
                "failed".to_string(),
                "lambda:ListFunctions".to_string()
            ),
            (
                "us-east-1".to_string(),
                "complete".to_string(),
                String::new()
            ),
        ]
    );
    // The complete region's function is captured.
    let ids: Vec<String> = catalog_of_kind(&snap, "resources", "aws.lambda.function")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        [format!("aws.lambda.function:{ACCOUNT}:us-east-1:api")]
    );
}
