//! Apps Script end to end: the real binary against the loopback stand-in of the Apps Script API,
//! Drive and the OAuth token endpoint (infrasnap-emulator's `gas` module). Every file written is
//! compared with what was served, byte for byte; credentials must appear nowhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::catalog_file;
use infrasnap_emulator::gas::{GasFault, GasServer, ScriptFile, ScriptProject};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Harness (the shape of tests/common/mod.rs, for a run with no AWS)
// ---------------------------------------------------------------------------------------------

const CLIENT_ID: &str = "1072944905499-standin.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "GOCSPX-standinClientSecret42xyz";
const REFRESH_TOKEN: &str = "1//0gStandinRefreshTokenQwErTy123456";
const STALE_TOKEN: &str = "ya29.a0StandinStaleAccessTokenNeverIssued";
const PLANTED_KEY: &str = "AIzaSyB3xK9mQ2vR7pL4wN8tJ6hF1cD5gZ0aYeu";
const PLANTED_PASSWORD: &str = "Tr0ub4dor-and-3-horses";

struct Env {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    repo: PathBuf,
    config: PathBuf,
    g: GasServer,
    runs: std::sync::atomic::AtomicU32,
}

impl Env {
    async fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let repo = tmp.path().join("repo");
        let config = tmp.path().join("infrasnap.toml");
        let g = GasServer::start().await.unwrap();
        Env {
            home,
            repo,
            config,
            g,
            runs: Default::default(),
            _tmp: tmp,
        }
    }

    /// Write the config: `projects` as (script id, optional name), then `extra` lines of [gas].
    fn write_config(&self, projects: &[(&str, Option<&str>)], extra: &str) {
        let mut t = format!(
            "[aws]\ndisabled = true\n\n[gas]\nscript_endpoint = \"{u}\"\ndrive_endpoint = \"{u}\"\ntoken_endpoint = \"{t}\"\n{extra}\n",
            u = self.g.url(),
            t = self.g.token_url()
        );
        for (id, name) in projects {
            t.push_str(&format!("\n[[gas.projects]]\nscript_id = \"{id}\"\n"));
            if let Some(n) = name {
                t.push_str(&format!("name = \"{n}\"\n"));
            }
        }
        std::fs::write(&self.config, t).unwrap();
    }

    fn clasprc(&self, v: &Value) {
        std::fs::write(
            self.home.join(".clasprc.json"),
            serde_json::to_vec_pretty(v).unwrap(),
        )
        .unwrap();
    }

    /// `infrasnap --repo R --json snapshot --config C`, nothing from the developer's environment.
    async fn snapshot(&self, env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_infrasnap"));
        c.env_clear();
        c.env("PATH", std::env::var("PATH").unwrap_or_default());
        c.env("HOME", &self.home);
        // `[aws] disabled = true`; these only keep the developer's own AWS settings out of reach.
        for (k, v) in infrasnap_emulator::aws_env(&self.g.url()) {
            c.env(k, v);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c.arg("--repo").arg(&self.repo);
        let n = self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        c.args([
            "--json",
            "snapshot",
            "--label",
            &format!("run{n}"),
            "--config",
        ])
        .arg(&self.config);
        tokio::task::spawn_blocking(move || c.output().expect("run infrasnap"))
            .await
            .unwrap()
    }
}

fn out(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[track_caller]
fn meta_of(o: &Output, code: i32) -> Value {
    assert_eq!(o.status.code(), Some(code), "{}", out(o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out(o)));
    v["metadata"].clone()
}

fn snapshot_dir(repo: &Path, meta: &Value) -> PathBuf {
    repo.join(meta["name"].as_str().unwrap())
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn blob_count(repo: &Path) -> usize {
    walk_files(&repo.join(".infrasnap/blobs")).len()
}

/// Relative paths of every file below `dir`.
fn tree(dir: &Path) -> BTreeSet<String> {
    walk_files(dir)
        .into_iter()
        .map(|p| {
            p.strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

/// No secret, as plain bytes, in any file under the repository or in the output.
#[track_caller]
fn assert_no_leak(repo: &Path, outputs: &[&Output], secrets: &[String]) {
    let hay: Vec<(String, Vec<u8>)> = walk_files(repo)
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .chain(outputs.iter().flat_map(|o| {
            [
                ("stdout".to_string(), o.stdout.clone()),
                ("stderr".to_string(), o.stderr.clone()),
            ]
        }))
        .collect();
    for s in secrets {
        assert!(s.len() >= 8, "too short to search for: {s}");
        for (name, bytes) in &hay {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "secret {s:?} found in {name}"
            );
        }
    }
}

fn errors(meta: &Value) -> Vec<Value> {
    meta["collectors"]["gas"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The folder of a project: `<label>_<script id>` (the fixtures' labels and ids hold no byte the
/// catalog's scheme escapes; a label keeps its spaces).
fn folder(label: &str, script_id: &str) -> String {
    format!("{label}_{script_id}")
}

/// The catalog records of Apps Script projects, by script id.
fn projects_in_catalog(snap: &Path) -> std::collections::BTreeMap<String, Value> {
    catalog_file(snap, "resources")
        .into_iter()
        .filter(|r| r["id"].as_str().unwrap().starts_with("gas.project:"))
        .map(|r| {
            let id = r["id"].as_str().unwrap();
            let script_id = id.strip_prefix("gas.project:::").unwrap_or_else(|| {
                panic!("{id}: a project's id is gas.project:::<script id>, no account or region")
            });
            (script_id.to_string(), r)
        })
        .collect()
}

/// The coverage line of `gas.project` (there is one: Apps Script has no account or region).
#[track_caller]
fn gas_coverage(snap: &Path) -> Value {
    let cov: Vec<Value> = catalog_file(snap, "coverage")
        .into_iter()
        .filter(|c| c["kind"] == "gas.project")
        .collect();
    assert_eq!(cov.len(), 1, "{cov:?}");
    assert_eq!(
        (&cov[0]["account"], &cov[0]["region"]),
        (&json!(""), &json!(""))
    );
    cov[0].clone()
}

/// The catalog lists the project with its id, label, document path and every other file of its
/// folder as a part.
#[track_caller]
fn assert_cataloged(snap: &Path, p: &ScriptProject, label: &str) {
    let recs = projects_in_catalog(snap);
    let r = recs
        .get(&p.script_id)
        .unwrap_or_else(|| panic!("{} not in the catalog: {recs:?}", p.script_id));
    let dir = format!("gas_projects/{}", folder(label, &p.script_id));
    assert_eq!(r["label"], label);
    assert_eq!(r["path"], format!("{dir}/project.json"));
    assert_eq!(r.get("incomplete"), None, "{r}");
    let mut files = tree(&snap.join(&dir));
    files.remove("project.json");
    let parts: BTreeSet<String> = r["parts"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(parts, files, "parts of {}", p.script_id);
    for (name, part) in r["parts"].as_object().unwrap() {
        assert_eq!(part["path"], format!("{dir}/{name}"));
    }
}

fn clasp_json(id: &str) -> Vec<u8> {
    format!("{{\n  \"scriptId\": \"{id}\"\n}}\n").into_bytes()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// Check a project folder against what the stand-in serves: every file byte for byte, nothing
/// else, the `versions` most recent versions. `redacted` files are checked by the caller.
#[track_caller]
fn assert_project(dir: &Path, p: &ScriptProject, versions: usize, redacted: &[&str]) {
    let mut expected: BTreeSet<String> = [
        "project.json",
        ".clasp.json",
        ".claspignore",
        "versions.json",
        "deployments.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for f in &p.files {
        let name = f.clasp_name();
        if !redacted.contains(&name.as_str()) {
            assert_eq!(
                std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}")),
                f.source.as_bytes(),
                "{name} of {}",
                p.script_id
            );
        }
        expected.insert(name);
    }
    assert_eq!(
        std::fs::read(dir.join(".clasp.json")).unwrap(),
        clasp_json(&p.script_id)
    );
    // clasp pushes the current files only, never versions/ (formats.rs runs the real clasp).
    assert_eq!(
        std::fs::read(dir.join(".claspignore")).unwrap(),
        infrasnap_collectors::gas::CLASP_IGNORE.as_bytes()
    );
    assert_eq!(read_json(&dir.join("project.json")), p.metadata());
    assert_eq!(
        read_json(&dir.join("versions.json")),
        json!({ "versions": p.version_resources() })
    );
    assert_eq!(
        read_json(&dir.join("deployments.json")),
        json!({ "deployments": p.deployments })
    );
    let mut newest: Vec<_> = p.versions.iter().collect();
    newest.sort_by_key(|v| std::cmp::Reverse(v.number));
    for v in newest.iter().take(versions) {
        let vdir = format!("versions/{}", v.number);
        for f in &v.files {
            let rel = format!("{vdir}/{}", f.clasp_name());
            assert_eq!(
                std::fs::read(dir.join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}")),
                f.source.as_bytes(),
                "{rel} of {}",
                p.script_id
            );
            expected.insert(rel);
        }
        assert_eq!(
            std::fs::read(dir.join(&vdir).join(".clasp.json")).unwrap(),
            clasp_json(&p.script_id)
        );
        expected.insert(format!("{vdir}/.clasp.json"));
    }
    if !redacted.is_empty() {
        expected.insert("redactions.json".into());
    }
    assert_eq!(tree(dir), expected, "files of {}", dir.display());
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const MANIFEST: &str = "{\n  \"timeZone\": \"Europe/Paris\",\n  \"dependencies\": {\n    \"enabledAdvancedServices\": [{\"userSymbol\": \"Drive\", \"serviceId\": \"drive\", \"version\": \"v2\"}]\n  },\n  \"exceptionLogging\": \"STACKDRIVER\",\n  \"runtimeVersion\": \"V8\"\n}";

fn budget() -> ScriptProject {
    let code = |n: u64| {
        ScriptFile::gs(
            "Code",
            &format!("// version {n}\nfunction total(rows) {{\n  return rows.reduce((a, r) => a + r[{n}], 0);\n}}\n"),
        )
    };
    ScriptProject::new("1BudgetToolsXyZ_0123456789abcdefghijklmnopqrstuvwx", "Budget Tools")
        .file(ScriptFile::manifest(MANIFEST))
        .file(ScriptFile::gs(
            "Code",
            // CRLF, tabs, non-ASCII, no final newline: all kept as served.
            "/** Budget helpers — « été » ✓ */\r\nfunction onOpen() {\r\n\tSpreadsheetApp.getUi()\r\n\t\t.createMenu('Budget')\r\n\t\t.addItem('Recalculate', 'recalc')\r\n\t\t.addToUi();\r\n}\r\n\r\nfunction recalc() { return total(SpreadsheetApp.getActiveSheet().getDataRange().getValues()); }",
        ))
        .file(ScriptFile::gs(
            "lib/util",
            "function total(rows) {\n  return rows.reduce(function (a, r) { return a + Number(r[2] || 0); }, 0);\n}\n",
        ))
        .file(ScriptFile::html(
            "ui/Sidebar",
            "<!DOCTYPE html>\n<html>\n  <body>\n    <?!= include('ui/Style'); ?>\n    <p>Total: <span id=\"t\"></span></p>\n    <script>google.script.run.withSuccessHandler(v => document.getElementById('t').textContent = v).recalc();</script>\n  </body>\n</html>\n",
        ))
        .version(1, "first", vec![ScriptFile::manifest(MANIFEST), code(1)])
        .version(2, "second", vec![ScriptFile::manifest(MANIFEST), code(2)])
        .version(3, "third", vec![ScriptFile::manifest(MANIFEST), code(3)])
        .version(4, "fourth: sidebar", vec![ScriptFile::manifest(MANIFEST), code(4), ScriptFile::html("ui/Sidebar", "<p>v4</p>\n")])
        .deployment("AKfycbwStandinDeploymentHead", None, "HEAD")
        .deployment("AKfycbyStandinDeploymentV3", Some(3), "production")
        .deployment("AKfycbzStandinDeploymentV4", Some(4), "staging")
}

fn invoices() -> ScriptProject {
    ScriptProject::new("1InvoicesBoundScriptId_abcdefghijklmnopqrstuvwxyz01", "Untitled project")
        .bound_to("1SheetOfInvoicesIdAbCdEfGhIjKlMnOpQrStUvWxYz")
        .file(ScriptFile::manifest("{\n  \"timeZone\": \"America/New_York\",\n  \"runtimeVersion\": \"V8\"\n}\n"))
        .file(ScriptFile::gs("Invoices", "function send() {\n  GmailApp.sendEmail('billing@example.com', 'Invoices', 'See sheet');\n}\n"))
        .version(1, "", vec![ScriptFile::gs("Invoices", "function send() {}\n")])
}

fn helper() -> ScriptProject {
    ScriptProject::new(
        "1DiscoveredHelperId_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
        "Discovered Helper",
    )
    .file(ScriptFile::manifest("{\n  \"runtimeVersion\": \"V8\"\n}\n"))
    .file(ScriptFile::gs(
        "Main",
        "function doGet() {\n  return HtmlService.createHtmlOutput('ok');\n}\n",
    ))
}

fn with_secret() -> ScriptProject {
    ScriptProject::new("1MailerWithKeysId_abcdefghijklmnopqrstuvwxyzABCDE", "Mailer")
        .file(ScriptFile::manifest("{\n  \"runtimeVersion\": \"V8\"\n}\n"))
        .file(ScriptFile::gs(
            "Code",
            &format!(
                "// Mailer\nconst MAPS_KEY = '{PLANTED_KEY}';\nfunction geocode(a) {{\n  return UrlFetchApp.fetch('https://maps.googleapis.com/maps/api/geocode/json?address=' + a + '&key=' + MAPS_KEY);\n}}\nconst SMTP_PASSWORD = \"{PLANTED_PASSWORD}\";\n"
            ),
        ))
}

fn twin() -> ScriptProject {
    ScriptProject::new("1MailerTwinId_zyxwvutsrqponmlkjihgfedcbaZYXWVUTS", "Mailer")
        .file(ScriptFile::gs("Code", "function twin() {}\n"))
}

fn secrets(g: &GasServer) -> Vec<String> {
    let mut s: Vec<String> = [
        CLIENT_SECRET,
        REFRESH_TOKEN,
        STALE_TOKEN,
        PLANTED_KEY,
        PLANTED_PASSWORD,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    s.extend(g.issued_tokens());
    s
}

fn old_clasprc(access_token: &str, expiry_ms: u64) -> Value {
    json!({
        "token": {
            "access_token": access_token,
            "refresh_token": REFRESH_TOKEN,
            "scope": "https://www.googleapis.com/auth/script.projects https://www.googleapis.com/auth/drive.metadata.readonly",
            "token_type": "Bearer",
            "id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXN0YW5kaW4",
            "expiry_date": expiry_ms,
        },
        "oauth2ClientSettings": {
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "redirectUri": "http://localhost",
        },
        "isLocalCreds": false,
    })
}

fn new_clasprc(access_token: Option<&str>) -> Value {
    let mut t = json!({
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "type": "authorized_user",
        "refresh_token": REFRESH_TOKEN,
    });
    if let Some(a) = access_token {
        t["access_token"] = json!(a);
        t["token_type"] = json!("Bearer");
    }
    json!({ "tokens": { "default": t } })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// clasp's older `.clasprc.json` with an expired access token: a refresh, then every configured
/// project and the one Drive finds, byte for byte; secrets redacted; nothing secret anywhere; a
/// second run adds no blobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_clasp_credentials_full_capture_is_byte_exact_and_incremental() {
    let e = Env::new().await;
    for p in [budget(), invoices(), helper(), with_secret(), twin()] {
        e.g.add_project(p);
    }
    e.g.add_client(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN);
    e.clasprc(&old_clasprc(STALE_TOKEN, now_ms() - 3_600_000));
    e.write_config(
        &[
            (&budget().script_id, None),
            (&invoices().script_id, Some("invoices")),
            (&with_secret().script_id, None),
            (&twin().script_id, None),
        ],
        "versions = 3\ndiscover = true",
    );

    let o = e.snapshot(&[]).await;
    let meta = meta_of(&o, 0);
    assert_eq!(
        e.g.grants("refresh_token"),
        1,
        "one refresh of the expired token"
    );
    assert!(
        e.g.requests()
            .iter()
            .filter(|r| r.path.starts_with("/v1/"))
            .all(|r| r.status == 200),
        "the stale token was never used: {:?}",
        e.g.requests()
    );
    let drive: Vec<_> =
        e.g.requests()
            .into_iter()
            .filter(|r| r.path == "/drive/v3/files")
            .collect();
    assert_eq!(drive.len(), 2, "4 standalone projects, 2 a page");
    assert_eq!(
        drive[0].query["q"],
        "mimeType='application/vnd.google-apps.script' and trashed=false"
    );

    let snap = snapshot_dir(&e.repo, &meta);
    let gas = snap.join("gas_projects");
    let folders: BTreeSet<String> = std::fs::read_dir(&gas)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // `<label>_<script id>`: two projects titled alike (Mailer) each keep their own folder,
    // whatever else the run captures.
    let labelled = [
        (budget(), "Budget Tools"),
        (invoices(), "invoices"),
        (with_secret(), "Mailer"),
        (twin(), "Mailer"),
        (helper(), "Discovered Helper"),
    ];
    assert_eq!(
        folders,
        labelled
            .iter()
            .map(|(p, l)| folder(l, &p.script_id))
            .collect::<BTreeSet<_>>()
    );
    assert!(folders.contains("Budget Tools_1BudgetToolsXyZ_0123456789abcdefghijklmnopqrstuvwx"));
    let dir = |p: &ScriptProject, label: &str| gas.join(folder(label, &p.script_id));
    assert_project(&dir(&budget(), "Budget Tools"), &budget(), 3, &[]);
    assert!(
        !dir(&budget(), "Budget Tools").join("versions/1").exists(),
        "only the 3 most recent versions"
    );
    assert_project(&dir(&invoices(), "invoices"), &invoices(), 3, &[]);
    assert_project(&dir(&helper(), "Discovered Helper"), &helper(), 3, &[]);
    assert_project(&dir(&twin(), "Mailer"), &twin(), 3, &[]);
    let mailer = dir(&with_secret(), "Mailer");
    assert_project(&mailer, &with_secret(), 3, &["Code.gs"]);

    // The catalog: one record per project, every file of its folder a part; the listing whole.
    for (p, label) in &labelled {
        assert_cataloged(&snap, p, label);
    }
    assert_eq!(projects_in_catalog(&snap).len(), 5);
    let cov = gas_coverage(&snap);
    assert_eq!(cov["state"], "complete", "{cov}");
    let parts = &projects_in_catalog(&snap)[&budget().script_id]["parts"];
    assert_eq!(
        parts["versions/4/ui/Sidebar.html"]["path"],
        format!(
            "gas_projects/{}/versions/4/ui/Sidebar.html",
            folder("Budget Tools", &budget().script_id)
        )
    );

    // The secrets in the source are replaced by markers, the rest of the file kept.
    let code = std::fs::read_to_string(mailer.join("Code.gs")).unwrap();
    let served = &with_secret().files[1].source;
    assert!(code.contains("<redacted fp:"), "{code}");
    assert!(code.starts_with("// Mailer\nconst MAPS_KEY = '"), "{code}");
    assert_eq!(code.lines().count(), served.lines().count());
    let red = read_json(&mailer.join("redactions.json"));
    let lines: BTreeSet<(String, u64)> = red
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("Code.gs".to_string(), 2), ("Code.gs".to_string(), 6)]
            .into_iter()
            .collect()
    );
    assert!(red[0]["kind"].is_string());

    let c = &meta["collectors"]["gas"];
    assert_eq!(c["status"], "complete", "{c}");
    assert_eq!(c["counts"]["projects"], 5);
    assert_eq!(c["counts"]["files"], 4 + 2 + 2 + 2 + 1);
    assert_eq!(c["counts"]["versions"], 3 + 1);
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains(&format!(
            "| Budget Tools | `{}` | 4 | 3 of 4 | 3 |",
            budget().script_id
        )),
        "{manifest}"
    );

    // The same again: nothing new stored.
    let blobs = blob_count(&e.repo);
    let o2 = e.snapshot(&[]).await;
    let meta2 = meta_of(&o2, 0);
    assert_eq!(
        blob_count(&e.repo),
        blobs,
        "an unchanged estate adds no blobs"
    );
    assert_eq!(meta2["collectors"]["gas"]["blobs_new"], 0);
    let snap2 = snapshot_dir(&e.repo, &meta2);
    assert_eq!(
        std::fs::read(
            snap2
                .join("gas_projects")
                .join(folder("Mailer", &with_secret().script_id))
                .join("Code.gs")
        )
        .unwrap(),
        code.as_bytes(),
        "the same markers in every run"
    );
    // Unchanged: the same documents, the same digests, the same parts.
    let (before, after) = (projects_in_catalog(&snap), projects_in_catalog(&snap2));
    assert_eq!(before.len(), after.len());
    for (id, r) in &before {
        let r2 = &after[id];
        for k in ["path", "blob", "digest", "parts", "label"] {
            assert_eq!(r[k], r2[k], "{k} of {id}");
        }
    }

    assert_no_leak(&e.repo, &[&o, &o2], &secrets(&e.g));
}

/// clasp's newer shape with a live access token (no refresh), and an authorized-user JSON given
/// through GOOGLE_APPLICATION_CREDENTIALS (a refresh).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_clasp_shape_and_authorized_user_json() {
    let e = Env::new().await;
    e.g.add_project(budget());
    e.g.add_project(invoices());
    e.g.add_client(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN);
    let live = "ya29.a0StandinLiveAccessTokenPlantedXyz";
    e.g.issue_token(live, Duration::from_secs(3600));
    e.clasprc(&new_clasprc(Some(live)));
    e.write_config(
        &[
            (&budget().script_id, Some("budget")),
            (&invoices().script_id, None),
        ],
        "versions = 10",
    );
    let o = e.snapshot(&[]).await;
    let meta = meta_of(&o, 0);
    assert_eq!(
        e.g.grants("refresh_token"),
        0,
        "the live token was used as is"
    );
    assert!(
        e.g.requests().iter().all(|r| r.path != "/drive/v3/files"),
        "no discovery unless asked"
    );
    let snap = snapshot_dir(&e.repo, &meta);
    let gas = snap.join("gas_projects");
    let budget_dir = folder("budget", &budget().script_id);
    // A container-bound project with the default title is labelled with it.
    let invoices_dir = folder("Untitled project", &invoices().script_id);
    assert_project(&gas.join(&budget_dir), &budget(), 10, &[]);
    assert_project(&gas.join(&invoices_dir), &invoices(), 10, &[]);
    assert_cataloged(&snap, &budget(), "budget");
    assert_cataloged(&snap, &invoices(), "Untitled project");

    // An authorized-user JSON: no access token in it, so one refresh.
    let au = e.home.join("adc.json");
    std::fs::write(
        &au,
        serde_json::to_vec(&json!({
            "type": "authorized_user",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "quota_project_id": "acme-ops",
        }))
        .unwrap(),
    )
    .unwrap();
    std::fs::remove_file(e.home.join(".clasprc.json")).unwrap();
    let o2 = e
        .snapshot(&[("GOOGLE_APPLICATION_CREDENTIALS", au.to_str().unwrap())])
        .await;
    let meta2 = meta_of(&o2, 0);
    assert_eq!(e.g.grants("refresh_token"), 1);
    let gas2 = snapshot_dir(&e.repo, &meta2).join("gas_projects");
    assert_project(&gas2.join(&budget_dir), &budget(), 10, &[]);
    assert_project(&gas2.join(&invoices_dir), &invoices(), 10, &[]);

    let mut s = secrets(&e.g);
    s.push(live.to_string());
    assert_no_leak(&e.repo, &[&o, &o2], &s);
}

/// 401 then success (a refresh, a retry), 429 with Retry-After then success, 500 then success,
/// a 403 for an API
/// not enabled and a 404 recorded with guidance while the rest is captured, a denied Drive
/// discovery recorded: complete with errors (exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_or_recorded_with_guidance() {
    let e = Env::new().await;
    let disabled = helper();
    for p in [budget(), invoices(), disabled.clone()] {
        e.g.add_project(p);
    }
    e.g.add_client(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN);
    let live = "ya29.a0StandinLiveAccessTokenForFaults";
    e.g.issue_token(live, Duration::from_secs(3600));
    e.clasprc(&old_clasprc(live, now_ms() + 3_600_000));
    let b = budget().script_id;
    let i = invoices().script_id;
    e.g.fault(
        &format!("/v1/projects/{b}/content"),
        GasFault::Unauthorized,
        Some(1),
    );
    e.g.fault(
        &format!("/v1/projects/{i}/versions"),
        GasFault::RateLimited {
            retry_after_secs: 1,
        },
        Some(1),
    );
    e.g.fault(
        &format!("/v1/projects/{}", disabled.script_id),
        GasFault::AccessNotConfigured,
        None,
    );
    e.g.fault(
        &format!("/v1/projects/{b}/deployments"),
        GasFault::ServerError,
        Some(1),
    );
    e.g.fault("/drive/v3/files", GasFault::PermissionDenied, None);
    let unknown = "1NoSuchScriptId_0000000000000000000000000000000000";
    e.write_config(
        &[
            (&b, None),
            (unknown, Some("ghost")),
            (&disabled.script_id, None),
            (&i, Some("invoices")),
        ],
        "versions = 2\ndiscover = true",
    );

    let o = e.snapshot(&[]).await;
    let meta = meta_of(&o, 3);
    let log = e.g.requests();

    // 401 once: one refresh, then the same call again, successfully.
    assert_eq!(e.g.grants("refresh_token"), 1, "{log:?}");
    let content: Vec<_> = log
        .iter()
        .filter(|r| r.path == format!("/v1/projects/{b}/content") && r.query.is_empty())
        .collect();
    assert_eq!(
        content.iter().map(|r| r.status).collect::<Vec<_>>(),
        [401, 200]
    );
    // 429: waited for Retry-After, then the same call again.
    let versions: Vec<_> = log
        .iter()
        .filter(|r| r.path == format!("/v1/projects/{i}/versions"))
        .collect();
    assert_eq!(versions[0].status, 429);
    assert_eq!(versions[1].status, 200);
    assert!(
        versions[1].at.duration_since(versions[0].at) >= Duration::from_millis(950),
        "Retry-After honoured"
    );

    // 500: retried after a short wait.
    let deployments: Vec<_> = log
        .iter()
        .filter(|r| r.path == format!("/v1/projects/{b}/deployments"))
        .map(|r| r.status)
        .collect();
    assert_eq!(deployments, [500, 200, 200], "500, then both pages");

    let snap = snapshot_dir(&e.repo, &meta);
    let gas = snap.join("gas_projects");
    assert_project(&gas.join(folder("Budget Tools", &b)), &budget(), 2, &[]);
    assert_project(&gas.join(folder("invoices", &i)), &invoices(), 2, &[]);
    assert_eq!(
        std::fs::read_dir(&gas).unwrap().count(),
        2,
        "nothing for the projects that could not be read"
    );
    // Retried faults leave a whole project; the listing, with a denied discovery and projects
    // that could not be read, is failed: their absence is "not comparable", never "removed".
    assert_cataloged(&snap, &budget(), "Budget Tools");
    assert_cataloged(&snap, &invoices(), "invoices");
    assert_eq!(projects_in_catalog(&snap).len(), 2);
    let cov = gas_coverage(&snap);
    assert_eq!(cov["state"], "failed", "{cov}");
    assert_eq!(cov["error"]["service"], "gas", "{cov}");
    assert!(
        ["drive.files.list", "script.projects.get"]
            .contains(&cov["error"]["action"].as_str().unwrap()),
        "{cov}"
    );

    let errs = errors(&meta);
    let find = |resource: &str| {
        errs.iter()
            .find(|e| e["resource"] == resource)
            .unwrap_or_else(|| panic!("no error for {resource}: {errs:?}"))
            .clone()
    };
    let e403 = find(&disabled.script_id);
    assert_eq!(e403["service"], "gas");
    assert_eq!(e403["action"], "script.projects.get");
    assert_eq!(e403["code"], "PERMISSION_DENIED");
    assert!(
        e403["message"].as_str().unwrap().contains(
            "enable the Apps Script API for this user at https://script.google.com/home/usersettings"
        ),
        "{e403}"
    );
    let e404 = find(unknown);
    assert_eq!(e404["code"], "NOT_FOUND");
    assert!(
        e404["message"]
            .as_str()
            .unwrap()
            .contains("unknown script id (check [gas] projects in infrasnap.toml)"),
        "{e404}"
    );
    let drive = find("drive");
    assert_eq!(drive["action"], "drive.files.list");
    assert!(drive["message"]
        .as_str()
        .unwrap()
        .contains("Drive discovery denied"));
    assert_eq!(errs.len(), 3, "{errs:?}");
    let c = &meta["collectors"]["gas"];
    assert_eq!(c["status"], "partial");
    assert_eq!(c["counts"]["projects"], 2);
    let manifest =
        std::fs::read_to_string(snapshot_dir(&e.repo, &meta).join("MANIFEST.md")).unwrap();
    assert!(
        manifest.contains(&format!("| ghost | `{unknown}` | not captured: NOT_FOUND")),
        "{manifest}"
    );

    let mut s = secrets(&e.g);
    s.push(live.to_string());
    assert_no_leak(&e.repo, &[&o], &s);
}

/// A call of one project that keeps failing (deployments denied): the rest of the project is
/// captured, its catalog record says it is incomplete, and the listing stays complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_read_in_part_is_incomplete_in_the_catalog() {
    let e = Env::new().await;
    e.g.add_project(budget());
    let live = "ya29.a0StandinLiveAccessTokenForPartial";
    e.g.issue_token(live, Duration::from_secs(3600));
    e.clasprc(&old_clasprc(live, now_ms() + 3_600_000));
    let b = budget().script_id;
    e.g.fault(
        &format!("/v1/projects/{b}/deployments"),
        GasFault::PermissionDenied,
        None,
    );
    e.write_config(&[(&b, None)], "versions = 1");
    let o = e.snapshot(&[]).await;
    let meta = meta_of(&o, 3);
    let errs = errors(&meta);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0]["action"], "script.projects.deployments.list");
    let snap = snapshot_dir(&e.repo, &meta);
    let r = &projects_in_catalog(&snap)[&b];
    assert_eq!(r["incomplete"], true, "{r}");
    let parts = r["parts"].as_object().unwrap();
    assert!(parts.contains_key("Code.gs") && parts.contains_key("versions.json"));
    assert!(!parts.contains_key("deployments.json"), "{r}");
    assert_eq!(gas_coverage(&snap)["state"], "complete");
    let mut s = secrets(&e.g);
    s.push(live.to_string());
    assert_no_leak(&e.repo, &[&o], &s);
}

/// A refresh token that was revoked: one error saying what to do, exit 1, no secret printed; an
/// access token in INFRASNAP_GAS_TOKEN is used as is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_credentials_fail_clearly_and_env_token_works() {
    let e = Env::new().await;
    e.g.add_project(helper());
    // No client registered: the token endpoint answers invalid_grant.
    e.clasprc(&old_clasprc(STALE_TOKEN, now_ms() - 1000));
    e.write_config(&[(&helper().script_id, None)], "");
    let o = e.snapshot(&[]).await;
    let meta = meta_of(&o, 1);
    let errs = errors(&meta);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0]["action"], "oauth2.token");
    assert_eq!(errs[0]["code"], "invalid_grant");
    assert!(
        errs[0]["message"]
            .as_str()
            .unwrap()
            .contains("run `clasp login` again"),
        "{errs:?}"
    );
    assert!(
        e.g.requests().iter().all(|r| !r.path.starts_with("/v1/")),
        "no API call without a token"
    );
    let snap = snapshot_dir(&e.repo, &meta);
    let cov = gas_coverage(&snap);
    assert_eq!(cov["state"], "failed", "{cov}");
    assert_eq!(cov["error"]["action"], "oauth2.token");
    assert!(projects_in_catalog(&snap).is_empty());

    let env_token = "ya29.a0StandinTokenFromTheEnvironment01";
    e.g.issue_token(env_token, Duration::from_secs(600));
    let o2 = e.snapshot(&[("INFRASNAP_GAS_TOKEN", env_token)]).await;
    let meta2 = meta_of(&o2, 0);
    let snap2 = snapshot_dir(&e.repo, &meta2);
    assert_project(
        &snap2
            .join("gas_projects")
            .join(folder("Discovered Helper", &helper().script_id)),
        &helper(),
        3,
        &[],
    );
    assert_eq!(gas_coverage(&snap2)["state"], "complete");
    let mut s = secrets(&e.g);
    s.push(env_token.into());
    assert_no_leak(&e.repo, &[&o, &o2], &s);
}

/// A service-account JSON: a JWT signed with its key (checked by the stand-in) is traded for a
/// token at the token endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_json() {
    let Some((private_key, public_key)) = test_key_pair() else {
        eprintln!("NOTE: openssl is not installed; skipping the service-account test");
        return;
    };
    let e = Env::new().await;
    e.g.add_project(budget());
    let email = "infrasnap@acme-ops.iam.gserviceaccount.com";
    e.g.add_service_account(email, Some(&public_key));
    let sa = e.home.join("sa.json");
    std::fs::write(
        &sa,
        serde_json::to_vec_pretty(&json!({
            "type": "service_account",
            "project_id": "acme-ops",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": private_key,
            "client_email": email,
            "client_id": "123456789012345678901",
            "token_uri": "https://oauth2.googleapis.com/token",
        }))
        .unwrap(),
    )
    .unwrap();
    e.write_config(
        &[(&budget().script_id, None)],
        &format!("credentials = \"{}\"", sa.display()),
    );
    let o = e.snapshot(&[]).await;
    let meta = meta_of(&o, 0);
    assert_eq!(e.g.grants("urn:ietf:params:oauth:grant-type:jwt-bearer"), 1);
    assert_project(
        &snapshot_dir(&e.repo, &meta)
            .join("gas_projects")
            .join(folder("Budget Tools", &budget().script_id)),
        &budget(),
        3,
        &[],
    );
    let mut s = secrets(&e.g);
    // A line from the middle of the key.
    s.push(private_key.lines().nth(5).unwrap().to_string());
    assert_no_leak(&e.repo, &[&o], &s);
}

/// A throwaway RSA key made for this test only (it signs nothing anywhere else).
/// A throwaway RSA key pair made for this run with the openssl command (never committed: a key
/// in the repository would look like a leaked credential). None when openssl is missing.
fn test_key_pair() -> Option<(String, String)> {
    let dir = tempfile::tempdir().ok()?;
    let key = dir.path().join("k.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .output()
        .ok()?
        .status
        .success();
    if !ok {
        return None;
    }
    let public = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .ok()?;
    Some((
        std::fs::read_to_string(&key).ok()?,
        String::from_utf8(public.stdout).ok()?,
    ))
}
