//! Every format infrasnap writes is a promise to another tool (issue 16): each is read back here by
//! that tool, installed by `scripts/test` from its registry, never by our own code.
//!
//! | What we write | Read by |
//! |---|---|
//! | an Apps Script project in clasp's layout, and a captured version's folder | `clasp status` and `clasp push` (npm `@google/clasp`), pushing to the Apps Script stand-in |
//! | Route53 `<zone>.zone` | `named-checkzone` (Debian `bind9-utils`) and dnspython (PyPI), compared with `records.json` |
//! | API Gateway `export_<stage>.json` | openapi-spec-validator (PyPI); then imported into a fresh API (moto's ImportRestApi) |
//! | DynamoDB `data/*.json.gz` | ImportTable from S3 (moto) and a reader written from AWS's format description (`formats/dynamodb_json_read.py`) |
//! | git `repo.bundle` and `RESTORE.md` | `git bundle verify`, `git clone`, and RESTORE.md's commands as written |
//! | `kept_secrets/*.age` | the `age` command-line tool (Debian `age`) with the identity |
//! | every `.json`, `.jsonl`, `.json.gz` and `.csv` of a snapshot | Python's json, gzip and csv modules (`formats/read_all.py`) |
//! | Lambda `function_code/<function>.zip` and `layers/<id>.zip` | `unzip -t`, and its SHA-256 against Lambda's `CodeSha256` |
//!
//! A check whose tool cannot be had prints `SKIPPED <check>: <why>` on stderr and the test goes
//! on with the others. The helper scripts live in `tests/it/formats/`.
//!
//! clasp talks to Google through gaxios, which honours `HTTPS_PROXY`: the test points it at
//! `formats/google_tls_proxy.py`, a loopback proxy that ends the TLS session itself (a throwaway
//! certificate made with `openssl`, trusted through `NODE_EXTRA_CA_CERTS`) and replays each
//! request to the Apps Script stand-in. clasp is not patched and nothing leaves 127.0.0.1.

use crate::common::*;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use aws_smithy_types::Blob;
use infrasnap_emulator::gas::{GasServer, ScriptFile, ScriptProject};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// The tools, or a note saying why a check is skipped
// ---------------------------------------------------------------------------------------------

fn skip(check: &str, why: &str) {
    eprintln!("SKIPPED {check}: {why}");
}

fn helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/formats")
        .join(name)
}

fn on_path(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

fn works(p: &Path, args: &[&str]) -> bool {
    Command::new(p)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python that can import `module`: `INFRASNAP_PYTHON`, else the venv's python beside
/// `INFRASNAP_MOTO_SERVER` or in the workspace's `.venv-moto` (scripts/test installs the PyPI
/// tools there), else `python3`.
fn python_with(module: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("INFRASNAP_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(m) = std::env::var_os("INFRASNAP_MOTO_SERVER") {
        candidates.push(Path::new(&m).with_file_name("python"));
    }
    candidates.push(workspace().join(".venv-moto/bin/python"));
    candidates.extend(on_path("python3"));
    let import = format!("import {module}");
    candidates.into_iter().find(|p| works(p, &["-c", &import]))
}

/// clasp: `INFRASNAP_CLASP`, else where scripts/test installs it (.tools/clasp), else on PATH.
fn clasp() -> Option<PathBuf> {
    std::env::var_os("INFRASNAP_CLASP")
        .map(PathBuf::from)
        .into_iter()
        .chain([workspace().join(".tools/clasp/node_modules/.bin/clasp")])
        .chain(on_path("clasp"))
        .find(|p| works(p, &["--version"]))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[track_caller]
fn run_ok(c: &mut Command, what: &str) -> Output {
    let o = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    o
}

/// `formats/read_all.py` over a snapshot: every JSON, JSON-lines, gzip JSON-lines and CSV file
/// parses with Python's standard readers. Its counts, or None (and a note) without python3.
#[track_caller]
fn read_all(snap: &Path) -> Option<Value> {
    let Some(py) = on_path("python3") else {
        skip("json/csv", "python3 not found");
        return None;
    };
    let o = Command::new(py)
        .arg(helper("read_all.py"))
        .arg(snap)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("read_all.py: {e}: {}{}", stdout(&o), stderr(&o)));
    assert!(o.status.success(), "{r:#}");
    Some(r)
}

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Copy a folder as a user would (`cp -R`): files and subfolders, writable copies.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::write(&dst, std::fs::read(&src).unwrap()).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Apps Script: clasp
// ---------------------------------------------------------------------------------------------

const GAS_TOKEN: &str = "ya29.formats-standin-access-token-0123456789";
const SCRIPT_ID: &str = "1FormatsClaspProject_0123456789abcdefghijklmnopq";
const MANIFEST: &str = "{\n  \"timeZone\": \"Europe/Paris\",\n  \"runtimeVersion\": \"V8\"\n}";

fn budget() -> ScriptProject {
    ScriptProject::new(SCRIPT_ID, "Budget Tools")
        .file(ScriptFile::manifest(MANIFEST))
        .file(ScriptFile::gs(
            "Code",
            // CRLF, tabs, non-ASCII, no final newline: pushed as captured.
            "/** Budget — « été » ✓ */\r\nfunction onOpen() {\r\n\tSpreadsheetApp.getUi().createMenu('Budget').addToUi();\r\n}",
        ))
        .file(ScriptFile::gs(
            "lib/util",
            "function total(rows) {\n  return rows.length;\n}\n",
        ))
        .file(ScriptFile::html("ui/Sidebar", "<p>Total: <span id=\"t\"></span></p>\n"))
        .version(
            1,
            "first",
            vec![
                ScriptFile::manifest(MANIFEST),
                ScriptFile::gs("Code", "// version 1\nfunction onOpen() {}\n"),
            ],
        )
        .version(
            2,
            "second",
            vec![
                ScriptFile::manifest(MANIFEST),
                ScriptFile::gs("Code", "// version 2\nfunction onOpen() { sidebar(); }\n"),
                ScriptFile::html("ui/Sidebar", "<p>v2</p>\n"),
            ],
        )
}

/// A project's files as (name, type, source), in name order.
fn files_of(files: &[ScriptFile]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = files
        .iter()
        .map(|f| (f.name.clone(), f.kind.clone(), f.source.clone()))
        .collect();
    v.sort();
    v
}

fn clasp_names(files: &[ScriptFile]) -> BTreeSet<String> {
    files.iter().map(ScriptFile::clasp_name).collect()
}

/// `clasp status --json` in `dir`: the files clasp would push.
fn clasp_tracked(clasp: &Path, dir: &Path, home: &Path) -> BTreeSet<String> {
    let o = run_ok(
        Command::new(clasp)
            .args(["status", "--json"])
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home),
        "clasp status",
    );
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("clasp status --json: {e}: {}", stdout(&o)));
    v["filesToPush"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

/// The loopback proxy that hands clasp's Google calls to the stand-in, with the certificate it
/// presents; None (and a note) when openssl or python3 is missing.
fn google_proxy(tmp: &Path, upstream: &str) -> Option<(KillOnDrop, String, PathBuf, PathBuf)> {
    let (Some(openssl), Some(python)) = (on_path("openssl"), on_path("python3")) else {
        skip(
            "clasp push",
            "needs openssl and python3 for the loopback TLS proxy",
        );
        return None;
    };
    let (cert, key) = (tmp.join("google-cert.pem"), tmp.join("google-key.pem"));
    run_ok(
        Command::new(openssl)
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=googleapis stand-in"])
            .args([
                "-addext",
                "subjectAltName=DNS:script.googleapis.com,DNS:oauth2.googleapis.com,DNS:www.googleapis.com",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null()),
        "openssl req",
    );
    let log = tmp.join("google-proxy.log");
    let mut child = Command::new(python)
        .arg(helper("google_tls_proxy.py"))
        .args(["--upstream", upstream])
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the TLS proxy");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("the proxy's port");
    Some((
        KillOnDrop(child),
        format!("http://127.0.0.1:{port}"),
        cert,
        log,
    ))
}

/// `clasp push --force --json` in `dir`, through the proxy.
fn clasp_push(clasp: &Path, dir: &Path, home: &Path, proxy: &str, cert: &Path) -> Output {
    run_ok(
        Command::new(clasp)
            .args(["push", "--force", "--json"])
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("HTTPS_PROXY", proxy)
            .env("NODE_EXTRA_CA_CERTS", cert)
            .env("NO_PROXY", ""),
        "clasp push",
    )
}

/// Issue 16: `clasp status` in a copy of a captured project tracked the captured versions too, so
/// a `clasp push` from it would have uploaded every old version into the live project. Now clasp
/// tracks exactly the project's current files, and a push sends exactly the captured content; a
/// version's folder, copied, pushes exactly that version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clasp_pushes_exactly_the_captured_files_of_a_project_and_of_a_version() {
    let Some(clasp) = clasp() else {
        skip(
            "clasp",
            "clasp not found (scripts/test installs npm @google/clasp into .tools/clasp; or set INFRASNAP_CLASP)",
        );
        return;
    };
    let g = GasServer::start().await.unwrap();
    g.add_project(budget());
    g.issue_token(GAS_TOKEN, Duration::from_secs(3600));
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[aws]\ndisabled = true\n\n[gas]\nscript_endpoint = \"{u}\"\ndrive_endpoint = \"{u}\"\n\
             token_endpoint = \"{t}\"\nversions = 2\n\n[[gas.projects]]\nscript_id = \"{SCRIPT_ID}\"\n\
             name = \"budget\"\n",
            u = g.url(),
            t = g.token_url()
        ),
    )
    .unwrap();
    let o = command(
        &repo,
        &g.url(),
        &["--json", "snapshot", "--config", cfg.to_str().unwrap()],
        &[("INFRASNAP_GAS_TOKEN", GAS_TOKEN)],
    )
    .output()
    .unwrap();
    assert_code(&o, 0);
    let meta: Value = serde_json::from_slice(&o.stdout).unwrap();
    let captured =
        snapshot_dir(&repo, &meta["metadata"]).join(format!("gas_projects/budget_{SCRIPT_ID}"));
    assert!(captured.join("versions/2/Code.gs").is_file());
    if let Some(r) = read_all(&snapshot_dir(&repo, &meta["metadata"])) {
        // project, versions, deployments, .clasp.json (x3), appsscript.json (x3), metadata.
        assert!(r["json"].as_u64().unwrap() >= 8, "{r}");
    }

    // A copy of the captured folder: clasp tracks the current files, nothing of versions/, no
    // metadata.
    let home = tmp.path().join("clasp-home");
    std::fs::create_dir_all(&home).unwrap();
    let head = tmp.path().join("copy/budget");
    copy_tree(&captured, &head);
    let want = clasp_names(&budget().files);
    assert_eq!(
        want,
        [
            "Code.gs",
            "appsscript.json",
            "lib/util.gs",
            "ui/Sidebar.html"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(clasp_tracked(&clasp, &head, &home), want);
    // A captured version's folder, copied on its own, tracks exactly that version's files.
    let v2 = tmp.path().join("copy/budget-v2");
    copy_tree(&captured.join("versions/2"), &v2);
    let version2 = budget().versions[1].files.clone();
    assert_eq!(clasp_tracked(&clasp, &v2, &home), clasp_names(&version2));

    // clasp push from the copy, after a careless edit of the live project: the stand-in receives
    // exactly the captured files, names, types and bytes.
    let Some((_proxy, proxy_url, cert, log)) = google_proxy(tmp.path(), &g.url()) else {
        return;
    };
    std::fs::write(
        home.join(".clasprc.json"),
        serde_json::to_vec_pretty(&json!({"tokens": {"default": {
            "type": "authorized_user",
            "access_token": GAS_TOKEN,
            "refresh_token": "1//formats-standin-refresh",
            "expiry_date": 4102444800000u64,
            "token_type": "Bearer",
            "client_id": "formats-standin.apps.googleusercontent.com",
            "client_secret": "formats-standin-secret"
        }}}))
        .unwrap(),
    )
    .unwrap();
    let mut broken = budget();
    broken.files = vec![
        ScriptFile::manifest("{}"),
        ScriptFile::gs("Code", "function onOpen() { /* broken */ }\n"),
        ScriptFile::gs("Scratch", "var x;\n"),
    ];
    g.add_project(broken);
    let pushes = |g: &GasServer| {
        g.requests()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .map(|r| (r.path, r.status))
            .collect::<Vec<_>>()
    };
    let o = clasp_push(&clasp, &head, &home, &proxy_url, &cert);
    let pushed: BTreeSet<String> = serde_json::from_slice::<Vec<String>>(&o.stdout)
        .unwrap_or_else(|e| panic!("clasp push --json: {e}: {}", stdout(&o)))
        .into_iter()
        .collect();
    assert_eq!(pushed, want);
    assert_eq!(
        pushes(&g),
        [(format!("/v1/projects/{SCRIPT_ID}/content"), 200)]
    );
    assert_eq!(
        files_of(&g.project(SCRIPT_ID).unwrap().files),
        files_of(&budget().files),
        "the live project holds exactly the captured files"
    );

    // And from the version's copy: the live project becomes that version.
    clasp_push(&clasp, &v2, &home, &proxy_url, &cert);
    assert_eq!(pushes(&g).len(), 2);
    assert_eq!(
        files_of(&g.project(SCRIPT_ID).unwrap().files),
        files_of(&version2)
    );
    // Every call clasp made went to the stand-in, as Google's Apps Script API.
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.lines().all(|l| l.contains(&format!(
            " script.googleapis.com/v1/projects/{SCRIPT_ID}/content"
        ))),
        "{calls}"
    );
}

// ---------------------------------------------------------------------------------------------
// AWS: one estate, one snapshot, every AWS format read by its own tool
// ---------------------------------------------------------------------------------------------

const ACCOUNT: &str = "123456789012";
const ZONE: &str = "formats.example.com";
const TABLE: &str = "formats-items";
const AWKWARD: &str = "formats-awkward";
const FUNCTION: &str = "formats-render";
const LAYER: &str = "formats-shared";

type Item = HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// Items of every DynamoDB type, with awkward strings, numbers and binaries.
fn table_items() -> Vec<Item> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let mut out = Vec::new();
    for i in 0..24u32 {
        let mut it: Item = HashMap::new();
        it.insert("id".into(), A::S(format!("item#{i:03}")));
        it.insert("n".into(), A::N(format!("{}.{:02}", i * 7, i)));
        if i % 3 == 0 {
            it.insert("tags".into(), A::Ss(vec!["b".into(), format!("t{i}")]));
        }
        out.push(it);
    }
    let mut m = HashMap::new();
    m.insert(
        "deep".to_string(),
        A::L(vec![A::N("1".into()), A::S("two".into())]),
    );
    m.insert(
        "inner".to_string(),
        A::M(HashMap::from([("k".to_string(), A::Bool(true))])),
    );
    let mut all: Item = HashMap::new();
    all.insert("id".into(), A::S("every-type".into()));
    all.insert("s".into(), A::S("caf\u{e9} \u{1f600} and spaces".into()));
    all.insert(
        "n".into(),
        A::N("-0.000000000000000000000000000000000001".into()),
    );
    all.insert(
        "big".into(),
        A::N("12345678901234567890123456789012345678".into()),
    );
    all.insert("b".into(), A::B(Blob::new(vec![0u8, 1, 2, 254, 255])));
    all.insert("ss".into(), A::Ss(vec!["zeta".into(), "alpha".into()]));
    all.insert("ns".into(), A::Ns(vec!["10".into(), "-2.5".into()]));
    all.insert(
        "bs".into(),
        A::Bs(vec![Blob::new(vec![9u8, 9]), Blob::new(b"bin".to_vec())]),
    );
    all.insert("m".into(), A::M(m));
    all.insert(
        "l".into(),
        A::L(vec![A::Null(true), A::Bool(false), A::L(vec![])]),
    );
    all.insert("nothing".into(), A::Null(true));
    all.insert("yes".into(), A::Bool(true));
    out.push(all);
    out
}

/// Items moto's ImportTable cannot read (its JSON parser, py_partiql_parser, keeps escapes such
/// as `\"` undecoded and loses every line after an empty map): read by the strict reader only.
fn awkward_items() -> Vec<Item> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let mut it: Item = HashMap::new();
    it.insert("id".into(), A::S("awkward \"quoted\" back\\slash".into()));
    it.insert(
        "s".into(),
        A::S("line\nbreak\ttab \u{1} control, \u{2028} separator, \u{1f600}".into()),
    );
    it.insert("empty_map".into(), A::M(HashMap::new()));
    it.insert(
        "nested".into(),
        A::M(HashMap::from([(
            "e".to_string(),
            A::L(vec![A::M(HashMap::new()), A::L(vec![])]),
        )])),
    );
    it.insert("empty_string".into(), A::S(String::new()));
    let mut plain: Item = HashMap::new();
    plain.insert("id".into(), A::S("after the awkward one".into()));
    vec![it, plain]
}

/// An item as DynamoDB JSON, canonical like `formats/dynamodb_json_read.py`'s: set members
/// sorted, binaries in standard base64.
fn ddb_json(item: &Item) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    fn av(v: &A) -> Value {
        let b64 = |b: &Blob| Value::from(aws_smithy_types::base64::encode(b.as_ref()));
        let sorted = |x: &[String]| {
            let mut x = x.to_vec();
            x.sort();
            Value::from(x)
        };
        match v {
            A::S(x) => json!({ "S": x }),
            A::N(x) => json!({ "N": x }),
            A::B(x) => json!({ "B": b64(x) }),
            A::Ss(x) => json!({ "SS": sorted(x) }),
            A::Ns(x) => json!({ "NS": sorted(x) }),
            A::Bs(x) => {
                let mut m: Vec<String> = x
                    .iter()
                    .map(|b| aws_smithy_types::base64::encode(b.as_ref()))
                    .collect();
                m.sort();
                json!({ "BS": m })
            }
            A::M(m) => {
                json!({ "M": m.iter().map(|(k, v)| (k.clone(), av(v))).collect::<serde_json::Map<_, _>>() })
            }
            A::L(l) => json!({ "L": l.iter().map(av).collect::<Vec<_>>() }),
            A::Null(x) => json!({ "NULL": x }),
            A::Bool(x) => json!({ "BOOL": x }),
            other => panic!("unexpected attribute value {other:?}"),
        }
    }
    Value::Object(item.iter().map(|(k, v)| (k.clone(), av(v))).collect())
}

/// Sets are unordered: sort their members before comparing.
fn norm(v: &aws_sdk_dynamodb::types::AttributeValue) -> aws_sdk_dynamodb::types::AttributeValue {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::Ss(x) | A::Ns(x) => {
            let mut x = x.clone();
            x.sort();
            if matches!(v, A::Ss(_)) {
                A::Ss(x)
            } else {
                A::Ns(x)
            }
        }
        A::Bs(x) => {
            let mut x: Vec<Vec<u8>> = x.iter().map(|b| b.as_ref().to_vec()).collect();
            x.sort();
            A::Bs(x.into_iter().map(Blob::new).collect())
        }
        A::M(m) => A::M(m.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        A::L(l) => A::L(l.iter().map(norm).collect()),
        other => other.clone(),
    }
}

/// A table's items by id, normalised.
fn by_id(items: &[Item]) -> BTreeMap<String, Item> {
    items
        .iter()
        .map(|it| {
            let id = it["id"].as_s().unwrap().clone();
            (id, it.iter().map(|(k, v)| (k.clone(), norm(v))).collect())
        })
        .collect()
}

async fn scan_all(c: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Item> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let r = c
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        out.extend(r.items().iter().cloned());
        start = r.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

fn rrs(
    name: &str,
    t: &str,
    ttl: i64,
    values: &[&str],
) -> aws_sdk_route53::types::ResourceRecordSet {
    use aws_sdk_route53::types::*;
    let mut b = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(t))
        .ttl(ttl);
    for v in values {
        b = b.resource_records(ResourceRecord::builder().value(*v).build().unwrap());
    }
    b.build().unwrap()
}

/// Route53: a zone with most record types, a wildcard, quoted and long TXT strings and an alias.
async fn seed_zone(conf: &aws_config::SdkConfig) {
    use aws_sdk_route53::types::*;
    let c = aws_sdk_route53::Client::new(conf);
    let zone = c
        .create_hosted_zone()
        .name(ZONE)
        .caller_reference("formats-zone")
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let long = format!("\"{}\" \"{}\"", "a".repeat(255), "tail of a long record");
    let sets = vec![
        rrs(
            &format!("www.{ZONE}"),
            "A",
            300,
            &["192.0.2.10", "192.0.2.11"],
        ),
        rrs(&format!("www.{ZONE}"), "AAAA", 300, &["2001:db8::10"]),
        rrs(
            &format!("blog.{ZONE}"),
            "CNAME",
            60,
            &[&format!("www.{ZONE}")],
        ),
        rrs(
            ZONE,
            "MX",
            3600,
            &["10 mail.example.net.", "20 backup.example.net."],
        ),
        rrs(
            ZONE,
            "TXT",
            300,
            &[
                "\"v=spf1 include:_spf.example.net ~all\"",
                "\"quote \\\" and semicolon ; inside\"",
                &long,
            ],
        ),
        rrs(
            &format!("_sip._tcp.{ZONE}"),
            "SRV",
            300,
            &["10 60 5060 sip.example.net."],
        ),
        rrs(ZONE, "CAA", 300, &["0 issue \"amazon.com\""]),
        rrs(&format!("*.{ZONE}"), "A", 120, &["192.0.2.99"]),
        rrs(
            &format!("dev.{ZONE}"),
            "NS",
            172800,
            &["ns1.example.org.", "ns2.example.org."],
        ),
    ];
    let mut batch = ChangeBatch::builder();
    for s in sets.into_iter().chain([ResourceRecordSet::builder()
        .name(format!("api.{ZONE}"))
        .r#type(RrType::A)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(&zone_id)
                .dns_name(format!("www.{ZONE}"))
                .evaluate_target_health(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()])
    {
        batch = batch.changes(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(s)
                .build()
                .unwrap(),
        );
    }
    c.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(batch.build().unwrap())
        .send()
        .await
        .unwrap();
}

async fn seed_table(conf: &aws_config::SdkConfig, table: &str, items: Vec<Item>) {
    use aws_sdk_dynamodb::types::*;
    let c = aws_sdk_dynamodb::Client::new(conf);
    c.create_table()
        .table_name(table)
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
        .send()
        .await
        .unwrap();
    for it in items {
        c.put_item()
            .table_name(table)
            .set_item(Some(it))
            .send()
            .await
            .unwrap();
    }
}

/// Lambda: a function with a zip of two files; gives back the zip.
async fn seed_function(conf: &aws_config::SdkConfig) -> Vec<u8> {
    use aws_sdk_lambda::types::*;
    let role = aws_sdk_iam::Client::new(conf)
        .create_role()
        .role_name("formats-lambda")
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
    let zip = stored_zip(&[
        ("index.py", b"def handler(e, c):\n    return 'ok'\n"),
        ("lib/data.bin", &bytes(7, 3000)),
    ]);
    let c = aws_sdk_lambda::Client::new(conf);
    let layer = c
        .publish_layer_version()
        .layer_name(LAYER)
        .compatible_runtimes(Runtime::Python312)
        .content(
            LayerVersionContentInput::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(stored_zip(&[(
                    "python/shared.py",
                    b"VALUE = 42\n",
                )])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.create_function()
        .function_name(FUNCTION)
        .runtime(Runtime::Python312)
        .role(role)
        .layers(layer.layer_version_arn().unwrap())
        .handler("index.handler")
        .code(
            FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    zip
}

/// CloudFront: two distributions, one with two origins (a `;`-joined CSV field).
async fn seed_distributions(conf: &aws_config::SdkConfig) {
    use aws_sdk_cloudfront::types::*;
    let c = aws_sdk_cloudfront::Client::new(conf);
    for (name, origins) in [("site", 1), ("media", 2)] {
        let behavior = behavior_to("o0").build().unwrap();
        let mut items = Origins::builder().quantity(origins);
        for i in 0..origins {
            items = items.items(
                Origin::builder()
                    .id(format!("o{i}"))
                    .domain_name(format!("{name}-{i}.s3.us-east-1.amazonaws.com"))
                    .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
                    .build()
                    .unwrap(),
            );
        }
        let cfg = DistributionConfig::builder()
            .caller_reference(format!("formats-{name}"))
            .origins(items.build().unwrap())
            .default_cache_behavior(behavior)
            .comment(format!("{name}, \"quoted\""))
            .enabled(true)
            .build()
            .unwrap();
        c.create_distribution()
            .distribution_config(cfg)
            .send()
            .await
            .unwrap();
    }
}

/// API Gateway: a REST API with HTTP proxy integrations, deployed to `prod`; gives back its id.
async fn seed_rest_api(conf: &aws_config::SdkConfig) -> String {
    use aws_sdk_apigateway::types::IntegrationType;
    let c = aws_sdk_apigateway::Client::new(conf);
    let api = c
        .create_rest_api()
        .name("formats-api")
        .description("Orders API")
        .send()
        .await
        .unwrap();
    let api_id = api.id().unwrap().to_string();
    let root = c
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .find(|r| r.path() == Some("/"))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let items = c
        .create_resource()
        .rest_api_id(&api_id)
        .parent_id(&root)
        .path_part("items")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let item = c
        .create_resource()
        .rest_api_id(&api_id)
        .parent_id(&items)
        .path_part("{id}")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    for (res, method, uri) in [
        (&items, "GET", "https://backend.example.com/items"),
        (&item, "GET", "https://backend.example.com/items/{id}"),
        (&item, "PUT", "https://backend.example.com/items/{id}"),
    ] {
        c.put_method()
            .rest_api_id(&api_id)
            .resource_id(res)
            .http_method(method)
            .authorization_type("NONE")
            .send()
            .await
            .unwrap();
        c.put_integration()
            .rest_api_id(&api_id)
            .resource_id(res)
            .http_method(method)
            .r#type(IntegrationType::HttpProxy)
            .integration_http_method(method)
            .uri(uri)
            .send()
            .await
            .unwrap();
    }
    c.create_deployment()
        .rest_api_id(&api_id)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    api_id
}

/// What AWS's GetExport (`oas30`, `extensions=apigateway`) answers for the API `seed_rest_api`
/// made. moto answers Swagger 2.0 with upper-case methods, which no OpenAPI tool accepts; the
/// harness answers as AWS does (code for AWS, bridge the emulator in the harness).
fn aws_export(api_id: &str) -> Value {
    let integration = |method: &str, uri: &str| {
        json!({
            "type": "http_proxy",
            "httpMethod": method,
            "uri": uri,
            "passthroughBehavior": "when_no_match",
            "responses": {"default": {"statusCode": "200"}}
        })
    };
    let id_param =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    json!({
        "openapi": "3.0.1",
        "info": {"title": "formats-api", "description": "Orders API", "version": "2024-05-01T10:00:00Z"},
        "servers": [{
            "url": format!("https://{api_id}.execute-api.us-east-1.amazonaws.com/{{basePath}}"),
            "variables": {"basePath": {"default": "prod"}}
        }],
        "paths": {
            "/items": {
                "get": {
                    "responses": {"200": {"description": "200 response"}},
                    "x-amazon-apigateway-integration": integration("GET", "https://backend.example.com/items")
                }
            },
            "/items/{id}": {
                "get": {
                    "parameters": id_param,
                    "responses": {"200": {"description": "200 response"}},
                    "x-amazon-apigateway-integration": integration("GET", "https://backend.example.com/items/{id}")
                },
                "put": {
                    "parameters": id_param,
                    "responses": {"200": {"description": "200 response"}},
                    "x-amazon-apigateway-integration": integration("PUT", "https://backend.example.com/items/{id}")
                }
            }
        },
        "components": {"schemas": {"Empty": {"title": "Empty Schema", "type": "object"}}}
    })
}

/// (path, method, integration type, integration uri) of every method of a REST API.
async fn api_methods(
    c: &aws_sdk_apigateway::Client,
    api_id: &str,
) -> BTreeSet<(String, String, String, String)> {
    let r = c
        .get_resources()
        .rest_api_id(api_id)
        .embed("methods")
        .send()
        .await
        .unwrap();
    let mut out = BTreeSet::new();
    for res in r.items() {
        for (m, _) in res.resource_methods().cloned().unwrap_or_default() {
            let i = c
                .get_integration()
                .rest_api_id(api_id)
                .resource_id(res.id().unwrap())
                .http_method(&m)
                .send()
                .await
                .unwrap();
            out.insert((
                res.path().unwrap().to_string(),
                m,
                // AWS reports `HTTP_PROXY`; moto keeps an import's `http_proxy`.
                i.r#type()
                    .map(|t| t.as_str().to_ascii_uppercase())
                    .unwrap_or_default(),
                i.uri().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

/// The CSV header FORMAT.md documents for `distribution_summary.csv`.
fn documented_csv_header() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/FORMAT.md"))
            .unwrap();
    let at = doc
        .find("the part is the same as `distribution_summary.csv`: `")
        .expect("FORMAT.md documents the header of distribution_summary.csv");
    let rest = &doc[at..];
    let start = rest.find(": `").unwrap() + 3;
    rest[start..start + rest[start..].find('`').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_formats_are_read_by_their_own_tools() {
    let emu = Emulator::start().await.unwrap();
    let conf = sdk_conf(&emu.url(), "us-east-1").await;
    seed_zone(&conf).await;
    seed_table(&conf, TABLE, table_items()).await;
    seed_table(&conf, AWKWARD, awkward_items()).await;
    let zip = seed_function(&conf).await;
    seed_distributions(&conf).await;
    let api_id = seed_rest_api(&conf).await;
    let export = aws_export(&api_id);
    let bridge = stub_proxy(&emu.url(), move |seen| {
        (seen.method == "GET" && seen.path.contains("/exports/oas30")).then(|| Canned {
            status: 200,
            content_type: "application/json",
            extra_headers: String::new(),
            body: export.to_string(),
        })
    })
    .await;

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let meta = snapshot(
        &repo,
        &bridge,
        &[
            "--only",
            "route53,dynamodb,lambda,cloudfront,apigateway",
            "--regions",
            "us-east-1",
        ],
    );
    let snap = snapshot_dir(&repo, &meta);

    // Every JSON, JSON-lines, gzip JSON-lines and CSV file: Python's standard readers.
    if let Some(r) = read_all(&snap) {
        assert!(r["json"].as_u64().unwrap() >= 10, "{r}");
        assert!(r["jsonl"].as_u64().unwrap() >= 3, "{r}");
        assert_eq!(r["json.gz"], 2, "{r}");
        let csv = format!("cloudfront_distributions/{ACCOUNT}/distribution_summary.csv");
        assert_eq!(
            r["csv_headers"][&csv].as_str(),
            Some(documented_csv_header().as_str()),
            "{r}"
        );
    }
    // The CSV holds both distributions, the two origins of one joined by `;`.
    let csv = std::fs::read_to_string(snap.join(format!(
        "cloudfront_distributions/{ACCOUNT}/distribution_summary.csv"
    )))
    .unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.contains("media-0.s3.us-east-1.amazonaws.com;media-1.s3.us-east-1.amazonaws.com"),
        "{csv}"
    );

    // Route53: named-checkzone, then dnspython, record by record against records.json.
    let zone_dir = std::fs::read_dir(snap.join(format!("route53_zones/{ACCOUNT}")))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("the zone's folder");
    let zone_file = zone_dir.join(format!("{ZONE}.zone"));
    match on_path("named-checkzone") {
        None => skip("named-checkzone", "not found (Debian bind9-utils)"),
        Some(t) => {
            run_ok(
                Command::new(t)
                    .args(["-i", "local", "-k", "fail", ZONE])
                    .arg(&zone_file),
                "named-checkzone",
            );
        }
    }
    match python_with("dns.zone") {
        None => skip("dnspython", "no python with dnspython (PyPI dnspython)"),
        Some(py) => {
            let o = run_ok(
                Command::new(py)
                    .arg(helper("zone_vs_records.py"))
                    .arg(&zone_file)
                    .arg(zone_dir.join("records.json")),
                "dnspython load and compare",
            );
            let r: Value = serde_json::from_slice(&o.stdout).unwrap();
            // The 15 values seeded (the alias aside), plus the apex NS and maybe the SOA.
            assert!(r["compared"].as_u64().unwrap() > 15, "{r}");
            assert_eq!(r["aliases"], 1, "{r}");
        }
    }

    // API Gateway: the captured export is valid OpenAPI, and imports into a fresh API that has the
    // same resources, methods and integrations as the original.
    let api_dir = snap.join(format!(
        "api_gateway/{ACCOUNT}/us-east-1/rest_apis/{api_id}"
    ));
    let export_file = api_dir.join("export_prod.json");
    assert!(export_file.is_file(), "{}", export_file.display());
    match python_with("openapi_spec_validator") {
        None => skip(
            "openapi-spec-validator",
            "no python with it (PyPI openapi-spec-validator)",
        ),
        Some(py) => {
            let o = run_ok(
                Command::new(py)
                    .arg(helper("openapi_check.py"))
                    .arg(&export_file),
                "openapi-spec-validator",
            );
            assert!(
                stdout(&o).contains("\"version\": \"3.0.1\""),
                "{}",
                stdout(&o)
            );
        }
    }
    let gw = aws_sdk_apigateway::Client::new(&conf);
    let imported = gw
        .import_rest_api()
        .body(aws_sdk_apigateway::primitives::Blob::new(
            std::fs::read(&export_file).unwrap(),
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("ImportRestApi: {:?}", e.into_service_error()));
    let new_id = imported.id().unwrap();
    assert_ne!(new_id, api_id);
    let original = api_methods(&gw, &api_id).await;
    assert_eq!(original.len(), 3, "{original:?}");
    assert_eq!(api_methods(&gw, new_id).await, original);

    // DynamoDB: the data files read by a reader written from AWS's format description hold
    // exactly the items of the live table, then ImportTable from S3 imports them into a new table
    // that holds exactly the same items (moto's importer misreads JSON escapes and empty maps:
    // the table of such items is proven by the reader alone).
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let data_files = |table: &str| -> Vec<PathBuf> {
        std::fs::read_dir(snap.join(format!("dynamodb_tables/{ACCOUNT}/us-east-1/{table}/data")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    };
    let want = by_id(&table_items());
    match on_path("python3") {
        None => skip("DynamoDB JSON reader", "python3 not found"),
        Some(py) => {
            for table in [TABLE, AWKWARD] {
                let o = run_ok(
                    Command::new(&py)
                        .arg(helper("dynamodb_json_read.py"))
                        .args(["id", "--"])
                        .args(data_files(table)),
                    "DynamoDB JSON reader",
                );
                let r: Value = serde_json::from_slice(&o.stdout).unwrap();
                let by_key = |items: Vec<Value>| -> BTreeMap<String, Value> {
                    items
                        .into_iter()
                        .map(|i| (i["id"]["S"].as_str().unwrap().to_string(), i))
                        .collect()
                };
                let live = scan_all(&ddb, table).await;
                assert!(live.len() >= 2, "{table}");
                assert_eq!(
                    by_key(r["items"].as_array().unwrap().clone()),
                    by_key(live.iter().map(ddb_json).collect()),
                    "{table}: the reader's items and the live table's"
                );
            }
        }
    }
    let table_dir = snap.join(format!("dynamodb_tables/{ACCOUNT}/us-east-1/{TABLE}"));
    let data = data_files(TABLE);
    assert_eq!(data.len(), 1, "{data:?}");
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "formats-import").await;
    for f in &data {
        let key = format!("{TABLE}/data/{}", f.file_name().unwrap().to_string_lossy());
        put(&s3, "formats-import", &key, &std::fs::read(f).unwrap()).await;
    }
    let table = read_json(&table_dir.join("table.json"));
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": "id", "KeyType": "HASH"}])
    );
    {
        use aws_sdk_dynamodb::types::*;
        let imp = ddb
            .import_table()
            .s3_bucket_source(
                S3BucketSource::builder()
                    .s3_bucket("formats-import")
                    .s3_key_prefix(format!("{TABLE}/data/"))
                    .build()
                    .unwrap(),
            )
            .input_format(InputFormat::DynamodbJson)
            .input_compression_type(InputCompressionType::Gzip)
            .table_creation_parameters(
                TableCreationParameters::builder()
                    .table_name("formats-imported")
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
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("ImportTable: {:?}", e.into_service_error()));
        let arn = imp
            .import_table_description()
            .unwrap()
            .import_arn()
            .unwrap()
            .to_string();
        let mut status = None;
        for _ in 0..100 {
            let d = ddb.describe_import().import_arn(&arn).send().await.unwrap();
            let desc = d.import_table_description().unwrap().clone();
            status = desc.import_status().cloned();
            if status != Some(ImportStatus::InProgress) {
                assert_eq!(status, Some(ImportStatus::Completed), "{desc:?}");
                assert_eq!(desc.imported_item_count(), want.len() as i64);
                assert_eq!(desc.error_count(), 0);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, Some(ImportStatus::Completed));
    }
    assert_eq!(by_id(&scan_all(&ddb, "formats-imported").await), want);
    assert_eq!(by_id(&scan_all(&ddb, TABLE).await), want);

    // Lambda: the function's zip and its layer's pass `unzip -t`, and the SHA-256 of each is the
    // CodeSha256 Lambda reports.
    let lambda_dir = snap.join(format!("lambda_functions/{ACCOUNT}/us-east-1"));
    let zip_file = lambda_dir.join(format!("function_code/{FUNCTION}.zip"));
    assert_eq!(std::fs::read(&zip_file).unwrap(), zip);
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let reported = lambda
        .get_function()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap()
        .configuration()
        .unwrap()
        .code_sha256()
        .unwrap()
        .to_string();
    let layer_reported = lambda
        .get_layer_version()
        .layer_name(LAYER)
        .version_number(1)
        .send()
        .await
        .unwrap()
        .content()
        .unwrap()
        .code_sha256()
        .unwrap()
        .to_string();
    let layer_file = lambda_dir.join(format!("layers/{LAYER}%3A1.zip"));
    for (file, reported) in [(&zip_file, &reported), (&layer_file, &layer_reported)] {
        match on_path("unzip") {
            None => skip("unzip -t", "unzip not found (Debian unzip)"),
            Some(t) => {
                let o = run_ok(Command::new(t).arg("-t").arg(file), "unzip -t");
                assert!(stdout(&o).contains("No errors detected"), "{}", stdout(&o));
            }
        }
        match on_path("python3") {
            None => skip("SHA-256 of the zip", "python3 not found"),
            Some(py) => {
                let o = run_ok(
                    Command::new(py)
                        .args([
                            "-c",
                            "import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1], 'rb').read()).digest()).decode())",
                        ])
                        .arg(file),
                    "sha256",
                );
                assert_eq!(stdout(&o).trim(), reported.as_str(), "{}", file.display());
            }
        }
    }
    let config = read_json(&snap.join(format!(
        "lambda_functions/{ACCOUNT}/us-east-1/function_config/{FUNCTION}.json"
    )));
    assert_eq!(config["CodeSha256"], reported.as_str());
}

// ---------------------------------------------------------------------------------------------
// Local sources: git bundles and RESTORE.md; age-encrypted kept secrets
// ---------------------------------------------------------------------------------------------

/// git with a fixed identity and nothing from the developer's configuration.
fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let o = run_ok(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("GIT_CONFIG_NOSYSTEM", "1"),
        &format!("git {args:?}"),
    );
    stdout(&o)
}

/// A repository with a commit, a branch, a tag, staged, unstaged and untracked work, and a `.env`
/// and a config file with a password (both secrets) among the untracked files.
fn work_repo(dir: &Path, home: &Path) -> PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(work.join("src")).unwrap();
    git(&work, home, &["init", "-q"]);
    std::fs::write(work.join("README.md"), "# deploy\n").unwrap();
    std::fs::write(work.join("src/main.sh"), "#!/bin/sh\necho v1\n").unwrap();
    std::fs::write(work.join("src/old.txt"), "to be deleted\n").unwrap();
    git(&work, home, &["add", "-A"]);
    git(&work, home, &["commit", "-q", "-m", "first"]);
    git(&work, home, &["tag", "v1.0"]);
    git(&work, home, &["branch", "hotfix"]);
    // Staged: a modification, a new file, a deletion.
    std::fs::write(work.join("README.md"), "# deploy\n\nstaged line\n").unwrap();
    std::fs::write(work.join("src/new.sh"), "#!/bin/sh\necho new\n").unwrap();
    git(&work, home, &["add", "README.md", "src/new.sh"]);
    git(&work, home, &["rm", "-q", "src/old.txt"]);
    // Unstaged, on top of a staged file and on a committed one.
    std::fs::write(
        work.join("README.md"),
        "# deploy\n\nstaged line\nunstaged line\n",
    )
    .unwrap();
    std::fs::write(work.join("src/main.sh"), "#!/bin/sh\necho v2\n").unwrap();
    // Untracked.
    std::fs::write(work.join("notes.txt"), "remember the milk\n").unwrap();
    std::fs::create_dir_all(work.join("drafts")).unwrap();
    std::fs::write(work.join("drafts/plan.md"), "- step one\n").unwrap();
    work
}

fn local_snapshot(dir: &Path, home: &Path, config: &str, extra: &[&str]) -> PathBuf {
    let cfg = dir.join("infrasnap.toml");
    std::fs::write(&cfg, format!("[aws]\ndisabled = true\n\n{config}")).unwrap();
    let repo = dir.join("repo");
    let o = bin()
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "tester")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("GIT_CEILING_DIRECTORIES", dir)
        .arg("--repo")
        .arg(&repo)
        .args(["--json", "snapshot", "--config"])
        .arg(&cfg)
        .args(extra)
        .output()
        .unwrap();
    assert_code(&o, 0);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    snapshot_dir(&repo, &v["metadata"])
}

/// The first `sh` block of a RESTORE.md, exactly as written.
fn restore_commands(md: &str) -> String {
    let start = md.find("```sh\n").expect("a sh block") + "```sh\n".len();
    md[start..start + md[start..].find("```").expect("its end")].to_string()
}

#[test]
fn a_git_bundle_verifies_clones_and_restore_md_rebuilds_staged_unstaged_and_untracked_work() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let work = work_repo(tmp.path(), &home);
    let snap = local_snapshot(
        tmp.path(),
        &home,
        &format!(
            "[[local]]\nname = \"deploy\"\npath = {:?}\nkind = \"git\"\n",
            work.to_str().unwrap()
        ),
        &[],
    );
    let base = snap.join("local_repos/deploy");
    let bundle = base.join("repo.bundle");
    if let Some(r) = read_all(&snap) {
        assert!(r["json"].as_u64().unwrap() >= 3, "{r}");
        assert!(r["jsonl"].as_u64().unwrap() >= 2, "{r}");
    }

    // git itself: the bundle verifies, and clones with every branch and tag.
    let o = Command::new("git")
        .args(["bundle", "verify"])
        .arg(&bundle)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(o.status.success(), "git bundle verify: {}", stderr(&o));
    assert!(stderr(&o).contains("is okay"), "{}", stderr(&o));
    let clone = tmp.path().join("clone");
    git(
        tmp.path(),
        &home,
        &[
            "clone",
            "-q",
            bundle.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    let head = git(&work, &home, &["rev-parse", "HEAD"]);
    assert_eq!(git(&clone, &home, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&clone, &home, &["rev-parse", "v1.0"]), head);
    assert_eq!(git(&clone, &home, &["rev-parse", "origin/hotfix"]), head);

    // RESTORE.md's commands, run exactly as written, with DEST set as it says.
    let md = std::fs::read_to_string(base.join("RESTORE.md")).unwrap();
    let script = restore_commands(&md);
    let dest = tmp.path().join("restored");
    let o = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&base)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("DEST", &dest)
        .output()
        .unwrap();
    assert!(o.status.success(), "RESTORE.md:\n{script}\n{}", stderr(&o));
    // The captured working state: HEAD, staged, unstaged, untracked, byte for byte.
    assert_eq!(git(&dest, &home, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        git(&dest, &home, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    for args in [
        &["diff", "--cached", "--binary"][..],
        &["diff", "--binary"][..],
        &["status", "--porcelain=v1", "-uall"][..],
    ] {
        assert_eq!(
            git(&dest, &home, args),
            git(&work, &home, args),
            "git {args:?}"
        );
    }
    for f in [
        "README.md",
        "src/main.sh",
        "src/new.sh",
        "notes.txt",
        "drafts/plan.md",
    ] {
        assert_eq!(
            std::fs::read(dest.join(f)).unwrap(),
            std::fs::read(work.join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(!dest.join("src/old.txt").exists());
}

#[test]
fn kept_secrets_decrypt_with_the_age_command_line_tool() {
    let (Some(age), Some(keygen)) = (on_path("age"), on_path("age-keygen")) else {
        skip("age", "age and age-keygen not found (Debian age)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let key = tmp.path().join("key.txt");
    run_ok(Command::new(&keygen).arg("-o").arg(&key), "age-keygen");
    let recipient = stdout(&run_ok(
        Command::new(&keygen).arg("-y").arg(&key),
        "age-keygen -y",
    ))
    .trim()
    .to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");

    let work = work_repo(tmp.path(), &home);
    let env = format!("STRIPE_KEY=sk_live_{}\n", alnum(24));
    let settings = format!("db:\n  host: db.internal\n  password: {}\n", alnum(20));
    std::fs::write(work.join(".env"), &env).unwrap();
    std::fs::write(work.join("settings.yml"), &settings).unwrap();
    let snap = local_snapshot(
        tmp.path(),
        &home,
        &format!(
            "[secrets]\nrecipient = \"{recipient}\"\n\n[[local]]\nname = \"deploy\"\npath = {:?}\nkind = \"git\"\n",
            work.to_str().unwrap()
        ),
        &["--keep-secrets"],
    );
    let base = snap.join("local_repos/deploy");
    // In plain text, neither the withheld file nor the redacted value.
    assert!(!base.join("untracked/.env").exists());
    let redacted = std::fs::read_to_string(base.join("untracked/settings.yml")).unwrap();
    assert!(redacted.contains("<redacted fp:"), "{redacted}");
    // The README's command, from the source's folder: `age -d -i key.txt kept_secrets/<path>.age`.
    for (kept, original) in [(".env.age", &env), ("settings.yml.age", &settings)] {
        let o = run_ok(
            Command::new(&age)
                .arg("-d")
                .arg("-i")
                .arg(&key)
                .arg(format!("kept_secrets/{kept}"))
                .current_dir(&base),
            &format!("age -d {kept}"),
        );
        assert_eq!(&stdout(&o), original, "{kept}");
    }
}
