//! Kept secrets that restore puts back, through the binary (infrasnap issue 11):
//! - API Gateway stage variables: a REST API snapshot with `--keep-secrets`, one variable
//!   changed live and another API deleted; without the identity the plan says which stage
//!   variables need values, with it apply writes the originals (diff: no change for the API
//!   updated in place); a WebSocket API and an HTTP API deleted live made again with their
//!   routes, integrations and stage variables;
//! - local sources: a git repository (an untracked `.env`, a staged change with a password) and a
//!   folder (`.env`, a file with a password) restored with `--to-dir`: with `--identity` the
//!   exact originals with their modes, without it the redacted copies and a plan and receipt
//!   that name the files.
//!
//! In every case no value is ever in the repository, the plan, or any output. API Gateway runs
//! against moto behind `restore_apigateway`'s `oas30_proxy` (moto's GetExport answers Swagger).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use age::secrecy::ExposeSecret;
use aws_sdk_apigateway::types as gw;
use infrasnap_collectors::local::age;
use serde_json::Value;

use crate::common::*;
use crate::restore_apigateway::{oas30_proxy, shop, v2_proxy};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// A fresh age identity: the identity file and its recipient (`age1...`).
fn identity(dir: &Path) -> (PathBuf, String) {
    let id = age::x25519::Identity::generate();
    let file = dir.join("key.txt");
    std::fs::write(
        &file,
        format!("# test identity\n{}\n", id.to_string().expose_secret()),
    )
    .unwrap();
    (file, id.to_public().to_string())
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn manual(plan: &Value) -> Vec<(String, String)> {
    plan["manual"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["id"].as_str().unwrap_or_default().to_string(),
                m["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// No secret anywhere under `dir` (snapshot files, blobs, plans, receipts), nor in `outputs`.
#[track_caller]
fn assert_nowhere(dir: &Path, outputs: &[&Output], secrets: &[&str]) {
    for f in walk_files(dir) {
        let bytes = std::fs::read(&f).unwrap();
        for s in secrets {
            assert!(
                !contains(&bytes, s.as_bytes()),
                "a value in {}",
                f.display()
            );
        }
    }
    for o in outputs {
        for s in secrets {
            assert!(!stdout(o).contains(s), "a value in stdout");
            assert!(!stderr(o).contains(s), "a value in stderr");
        }
    }
}

async fn stage_variables(c: &aws_sdk_apigateway::Client, api: &str) -> Value {
    let st = c
        .get_stage()
        .rest_api_id(api)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    serde_json::to_value(st.variables().cloned().unwrap_or_default()).unwrap()
}

async fn set_variable(c: &aws_sdk_apigateway::Client, api: &str, name: &str, value: &str) {
    c.update_stage()
        .rest_api_id(api)
        .stage_name("prod")
        .patch_operations(
            gw::PatchOperation::builder()
                .op(gw::Op::Replace)
                .path(format!("/variables/{name}"))
                .value(value)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_stage_variables_come_back_from_kept_values() {
    let emu = infrasnap_emulator::Emulator::start().await.unwrap();
    let url = oas30_proxy(&emu.url()).await;
    let conf = sdk_conf(&url, REGION).await;
    let c = aws_sdk_apigateway::Client::new(&conf);
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, recipient) = identity(tmp.path());
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(&cfg, format!("[secrets]\nrecipient = \"{recipient}\"\n")).unwrap();
    let cfg = path(&cfg);

    let password = format!("Pw-{}-x9", alnum(20));
    let token = format!("tok_{}", alnum(24));
    let shop_id = shop(&c, "shop").await;
    set_variable(&c, &shop_id, "db_password", &password).await;
    let admin_id = shop(&c, "admin").await;
    set_variable(&c, &admin_id, "token", &token).await;
    let want_shop = stage_variables(&c, &shop_id).await;
    let want_admin = stage_variables(&c, &admin_id).await;
    let snap = |label: &str, extra: &[&str]| {
        let mut a = vec![
            "--only",
            "apigateway",
            "--regions",
            REGION,
            "--config",
            cfg,
            "--label",
            label,
        ];
        a.extend_from_slice(extra);
        snapshot(&repo, &url, &a)
    };
    let kept_dir = snapshot_dir(&repo, &snap("kept", &["--keep-secrets"]));
    let rid = |id: &str| format!("aws.apigateway.rest_api:{ACCOUNT}:{REGION}:{id}");
    let rec = catalog_records(&kept_dir).remove(&rid(&shop_id)).unwrap();
    assert!(rec["parts"]["kept.age"].is_object(), "{rec:#}");
    assert_nowhere(&repo, &[], &[&password, &token]);

    // Live: shop's password changed, admin deleted.
    set_variable(&c, &shop_id, "db_password", "changed-by-hand").await;
    c.delete_rest_api()
        .rest_api_id(&admin_id)
        .send()
        .await
        .unwrap();
    let plan_args = |extra: &[&str]| {
        let mut a = vec![
            "--json",
            "restore",
            "plan",
            "kept",
            "--kind",
            "aws.apigateway.rest_api",
            "--if-exists",
            "overwrite",
            "--force",
            "--config",
            cfg,
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        infrasnap(&repo, &url, &a)
    };

    // Without the identity: both need values, each naming its variable and --identity.
    let o = run(plan_args(&[]));
    assert_code(&o, 0);
    let plan = json_of(&o);
    assert!(steps(&plan).is_empty(), "{plan:#}");
    let m = manual(&plan);
    for (id, var) in [(&shop_id, "prod/db_password"), (&admin_id, "prod/token")] {
        let (_, reason) = m
            .iter()
            .find(|(i, r)| *i == rid(id) && r.starts_with("needs values"))
            .unwrap_or_else(|| panic!("{m:#?}"));
        assert!(reason.contains(var), "{reason}");
        assert!(reason.contains("--identity"), "{reason}");
        // The other variable (backend), equal or not, is not named as needing values.
        assert!(!reason.contains("prod/backend"), "{reason}");
    }

    // With it: an update and a create, the kept values carried as the encrypted part only.
    let plan_file = tmp.path().join("plan.json");
    let o = run(plan_args(&[
        "--identity",
        path(&key),
        "-o",
        path(&plan_file),
    ]));
    assert_code(&o, 0);
    let plan = json_of(&o);
    let mut st = steps(&plan);
    st.sort();
    let mut want = vec![
        ("create".to_string(), rid(&admin_id)),
        ("update".to_string(), rid(&shop_id)),
    ];
    want.sort();
    assert_eq!(st, want, "{plan:#}");
    for s in plan["steps"].as_array().unwrap() {
        assert!(s["parts"]["kept.age"].is_string(), "{s:#}");
    }
    assert!(manual(&plan)
        .iter()
        .all(|(_, r)| !r.starts_with("needs values")));

    // Apply without the identity: refused before anything is written.
    let o = infrasnap(
        &repo,
        &url,
        &["restore", "apply", path(&plan_file), "--config", cfg],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--identity"), "{}", stderr(&o));
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
            path(&key),
        ],
    );
    assert_code(&o, 0);
    assert_nowhere(&repo, &[&o], &[&password, &token]);

    assert_eq!(stage_variables(&c, &shop_id).await, want_shop);
    let new_admin = c
        .get_rest_apis()
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .find(|a| a.name() == Some("admin"))
        .and_then(|a| a.id())
        .unwrap()
        .to_string();
    assert_eq!(stage_variables(&c, &new_admin).await, want_admin);

    // Read back: shop as it was (no change); admin made again under a new id.
    snap("after", &[]);
    let o = infrasnap(
        &repo,
        &url,
        &[
            "diff",
            "kept",
            "after",
            "--kind",
            "aws.apigateway.rest_api",
            "--json",
        ],
    );
    let d = json_of(&o);
    let changed: Vec<(String, String)> = d["kinds"]
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
        .collect();
    assert!(
        !changed.iter().any(|(_, id)| id.contains(&shop_id)),
        "{changed:?}"
    );
    let mut got: Vec<String> = changed.iter().map(|(s, _)| s.clone()).collect();
    got.sort();
    assert_eq!(got, ["added", "removed"], "{changed:?}");

    // Planned again with the identity: nothing to do.
    let o = run(plan_args(&["--identity", path(&key)]));
    assert_code(&o, 0);
    assert!(steps(&json_of(&o)).is_empty(), "{}", stdout(&o));
}

/// The route keys and the stage variables of the v2 API named `name` (`None`: no such API).
async fn v2_state(
    c: &aws_sdk_apigatewayv2::Client,
    name: &str,
) -> Option<(String, Vec<String>, Value)> {
    let apis = c.get_apis().send().await.unwrap();
    let api = apis.items().iter().find(|a| a.name() == Some(name))?;
    let id = api.api_id().unwrap().to_string();
    let mut routes: Vec<String> = c
        .get_routes()
        .api_id(&id)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .map(|r| r.route_key().unwrap_or_default().to_string())
        .collect();
    routes.sort();
    let stages = c.get_stages().api_id(&id).send().await.unwrap();
    let vars: serde_json::Map<String, Value> = stages
        .items()
        .iter()
        .map(|st| {
            let v: serde_json::Map<String, Value> = st
                .stage_variables()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            (
                st.stage_name().unwrap_or_default().to_string(),
                Value::Object(v),
            )
        })
        .collect();
    Some((id, routes, Value::Object(vars)))
}

/// A WebSocket API and an HTTP API deleted live come back whole: their integrations, routes (by
/// route key, targets naming the new integrations) and stages, the stage variables from the kept
/// values with `--identity`; found again by name afterwards (a second plan has nothing to do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_and_http_apis_come_back_with_their_stage_variables() {
    use aws_sdk_apigatewayv2::types as gw2;
    let emu = infrasnap_emulator::Emulator::start().await.unwrap();
    let url = v2_proxy(&emu.url()).await;
    let c = aws_sdk_apigatewayv2::Client::new(&sdk_conf(&url, REGION).await);
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, recipient) = identity(tmp.path());
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(&cfg, format!("[secrets]\nrecipient = \"{recipient}\"\n")).unwrap();
    let cfg = path(&cfg);
    let chat_key = format!("ck_{}", alnum(24));
    let orders_db = format!("Pw-{}-x9", alnum(20));

    let make = |name: &'static str,
                protocol: gw2::ProtocolType,
                routes: &'static [&'static str],
                stage: &'static str,
                var: (&'static str, String)| {
        let c = c.clone();
        async move {
            let mut api = c.create_api().name(name).protocol_type(protocol.clone());
            if protocol == gw2::ProtocolType::Websocket {
                api = api.route_selection_expression("$request.body.action");
            }
            let id = api.send().await.unwrap().api_id().unwrap().to_string();
            let int = c
                .create_integration()
                .api_id(&id)
                .integration_type(gw2::IntegrationType::HttpProxy)
                .integration_method("POST")
                .integration_uri(format!("https://{name}.example.com/in"))
                .send()
                .await
                .unwrap()
                .integration_id()
                .unwrap()
                .to_string();
            for r in routes {
                c.create_route()
                    .api_id(&id)
                    .route_key(*r)
                    .target(format!("integrations/{int}"))
                    .send()
                    .await
                    .unwrap();
            }
            c.create_stage()
                .api_id(&id)
                .stage_name(stage)
                .auto_deploy(true)
                .stage_variables(var.0, var.1)
                .send()
                .await
                .unwrap();
            id
        }
    };
    let chat = make(
        "chat",
        gw2::ProtocolType::Websocket,
        &["$connect", "$default", "sendmessage"],
        "prod",
        ("api_key", chat_key.clone()),
    )
    .await;
    let orders = make(
        "orders",
        gw2::ProtocolType::Http,
        &["GET /orders", "POST /orders"],
        "live",
        ("db_password", orders_db.clone()),
    )
    .await;
    let want_chat = v2_state(&c, "chat").await.unwrap();
    let want_orders = v2_state(&c, "orders").await.unwrap();
    assert_eq!(want_chat.2["prod"]["api_key"], chat_key.as_str());

    let snap = |label: &str, extra: &[&str]| {
        let mut a = vec![
            "--only",
            "apigateway",
            "--regions",
            REGION,
            "--config",
            cfg,
            "--label",
            label,
        ];
        a.extend_from_slice(extra);
        snapshot(&repo, &url, &a)
    };
    snap("kept", &["--keep-secrets"]);
    assert_nowhere(&repo, &[], &[&chat_key, &orders_db]);
    for id in [&chat, &orders] {
        c.delete_api().api_id(id).send().await.unwrap();
    }

    let args = [
        "kept",
        "--kind",
        "aws.apigatewayv2.api",
        "--config",
        cfg,
        "--identity",
        path(&key),
    ];
    let plan = restore_plan_ok(&repo, &url, &args);
    let rid = |id: &str| format!("aws.apigatewayv2.api:{ACCOUNT}:{REGION}:{id}");
    let mut st = steps(&plan);
    st.sort();
    let mut want = vec![
        ("create".to_string(), rid(&chat)),
        ("create".to_string(), rid(&orders)),
    ];
    want.sort();
    assert_eq!(st, want, "{plan:#}");
    assert!(
        manual(&plan)
            .iter()
            .all(|(_, r)| !r.starts_with("needs values")),
        "{plan:#}"
    );
    let o = restore_apply(&repo, &url, &["--config", cfg, "--identity", path(&key)]);
    assert_code(&o, 0);
    assert_nowhere(&repo, &[&o], &[&chat_key, &orders_db]);

    for (name, old, want) in [
        ("chat", &chat, &want_chat),
        ("orders", &orders, &want_orders),
    ] {
        let got = v2_state(&c, name)
            .await
            .unwrap_or_else(|| panic!("{name} is back"));
        assert_ne!(&got.0, old, "{name}: a new id");
        assert_eq!((&got.1, &got.2), (&want.1, &want.2), "{name}");
    }
    // The routes name the new integration.
    let new_chat = v2_state(&c, "chat").await.unwrap().0;
    let ints = c.get_integrations().api_id(&new_chat).send().await.unwrap();
    let int = ints.items()[0].integration_id().unwrap().to_string();
    let routes = c.get_routes().api_id(&new_chat).send().await.unwrap();
    for r in routes.items() {
        assert_eq!(
            r.target(),
            Some(format!("integrations/{int}").as_str()),
            "{r:?}"
        );
    }

    let again = restore_plan_ok(&repo, &url, &args);
    assert_eq!(steps(&again), Vec::<(String, String)>::new(), "{again:#}");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(p: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn local_sources_get_their_kept_secrets_back_with_the_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let url = "http://127.0.0.1:9";
    let (key, recipient) = identity(tmp.path());
    let token = format!("tok_{}", alnum(32));
    let password = alnum(20);
    let env = format!("API_TOKEN={token}\nDEBUG=1\n");
    let props = format!("user=deploy\npassword={password}\nhost=db.acme.test\n");

    // A repository: a commit, then a staged password and an untracked .env.
    let app = tmp.path().join("src/app");
    std::fs::create_dir_all(&app).unwrap();
    git(&app, &["init", "-q"]);
    write(&app.join("app.properties"), "user=deploy\n", 0o644);
    git(&app, &["add", "-A"]);
    git(&app, &["commit", "-q", "-m", "first"]);
    write(&app.join("app.properties"), &props, 0o644);
    git(&app, &["add", "app.properties"]);
    write(&app.join(".env"), &env, 0o640);
    // A folder: a .env and a file with a password.
    let tools = tmp.path().join("src/tools");
    write(&tools.join(".env"), &env, 0o600);
    write(&tools.join("conf/app.properties"), &props, 0o644);
    write(&tools.join("run.sh"), "#!/bin/sh\necho run\n", 0o755);
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[aws]\ndisabled = true\n\n[secrets]\nrecipient = \"{recipient}\"\n\n\
             [[local]]\nname = \"app\"\npath = {:?}\nkind = \"git\"\n\n\
             [[local]]\nname = \"tools\"\npath = {:?}\nkind = \"folder\"\n",
            path(&app),
            path(&tools)
        ),
    )
    .unwrap();
    let cfg = path(&cfg);
    let meta = snapshot(
        &repo,
        url,
        &["--config", cfg, "--keep-secrets", "--label", "kept"],
    );
    let snap = snapshot_dir(&repo, &meta);
    assert!(snap.join("local_repos/tools/kept_secrets").exists());
    assert_nowhere(&repo, &[], &[&token, &password]);

    let plan = |to: &Path, extra: &[&str]| {
        let file = tmp.path().join("plan.json");
        let _ = std::fs::remove_file(&file);
        let mut a = vec![
            "--json",
            "restore",
            "plan",
            "kept",
            "--kind",
            "local.*",
            "--to-dir",
            path(to),
            "--config",
            cfg,
            "-o",
            path(&file),
        ];
        a.extend_from_slice(extra);
        let o = infrasnap(&repo, url, &a);
        assert_code(&o, 0);
        let v = json_of(&o);
        (o, v)
    };
    let apply = |extra: &[&str]| {
        let file = tmp.path().join("plan.json");
        let mut a = vec!["restore", "apply", path(&file), "--config", cfg];
        a.extend_from_slice(extra);
        infrasnap(&repo, url, &a)
    };

    // With the identity: the exact originals, with their modes.
    let with = tmp.path().join("with");
    let (o, p) = plan(&with, &["--identity", path(&key)]);
    assert_eq!(steps(&p).len(), 2, "{p:#}");
    assert!(
        manual(&p)
            .iter()
            .all(|(_, r)| !r.starts_with("needs values")),
        "{p:#}"
    );
    let applied = apply(&["--identity", path(&key)]);
    assert_code(&applied, 0);
    assert_nowhere(&repo, &[&o, &applied], &[&token, &password]);
    assert_eq!(
        std::fs::read_to_string(with.join("tools/.env")).unwrap(),
        env
    );
    assert_eq!(mode(&with.join("tools/.env")), 0o600);
    assert_eq!(
        std::fs::read_to_string(with.join("tools/conf/app.properties")).unwrap(),
        props
    );
    assert_eq!(std::fs::read_to_string(with.join("app/.env")).unwrap(), env);
    assert_eq!(mode(&with.join("app/.env")), 0o640);
    let dest = with.join("app");
    assert_eq!(
        std::fs::read_to_string(dest.join("app.properties")).unwrap(),
        props
    );
    for args in [&["diff", "--cached"][..], &["status", "--porcelain"]] {
        assert_eq!(git(&dest, args), git(&app, args), "git {args:?}");
    }

    // Without it: the redacted copies, and the plan and the receipt name the files.
    let without = tmp.path().join("without");
    let (_, p) = plan(&without, &[]);
    assert_eq!(steps(&p).len(), 2, "{p:#}");
    let m = manual(&p);
    for id in ["local.git:::app", "local.folder:::tools"] {
        let (_, reason) = m
            .iter()
            .find(|(i, r)| i == id && r.starts_with("needs values"))
            .unwrap_or_else(|| panic!("{m:#?}"));
        assert!(reason.contains(".env"), "{reason}");
        assert!(reason.contains("--identity"), "{reason}");
    }
    let o = apply(&[]);
    assert_code(&o, 0);
    assert!(!without.join("tools/.env").exists());
    assert!(!without.join("app/.env").exists());
    let copy = std::fs::read_to_string(without.join("tools/conf/app.properties")).unwrap();
    assert!(copy.contains("<redacted fp:"), "{copy}");
    assert!(
        stderr(&o).contains("note: local.folder:::tools: needs values"),
        "{}",
        stderr(&o)
    );
    let receipt = walk_files(&repo.join(".infrasnap/restore"))
        .into_iter()
        .filter(|f| f.ends_with("receipt.json"))
        .map(|f| read_json(&f))
        .find(|r| {
            r["notes"]
                .as_array()
                .is_some_and(|n| n.iter().any(|x| x.as_str().unwrap().contains(".env")))
        });
    assert!(receipt.is_some(), "no receipt names .env");
    assert_nowhere(&repo, &[&o], &[&token, &password]);
}
