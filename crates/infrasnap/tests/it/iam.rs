//! IAM end to end: the real binary against moto. Roles with a trust policy, inline and attached
//! policies, a permissions boundary and tags; a customer managed policy with two versions; a user
//! in a group with an access key, a login profile and an MFA device; an instance profile; OIDC and
//! SAML providers. Everything asserted field by field from the files under `iam/<account>/`; the
//! catalog lists each resource by its name, with complete coverage; the secret access key appears
//! nowhere under the repository or in any output; a second snapshot adds no blob and gives every
//! resource the same digest. A second test: a user denied iam:* gets exit 3 with the IAM denials
//! recorded and every IAM listing covered as failed, while S3 is complete. A third: denied only
//! the authorization details, the per-entity calls give the same documents and full coverage.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_iam::types::{PolicyScopeType, Tag};
use aws_sdk_iam::Client;
use common::*;
use serde_json::{json, Value};

/// moto's account.
const ACCOUNT: &str = "123456789012";

/// Every IAM kind, each listed once per account.
const KINDS: [&str; 8] = [
    "aws.iam.credential_report",
    "aws.iam.group",
    "aws.iam.instance_profile",
    "aws.iam.oidc_provider",
    "aws.iam.policy",
    "aws.iam.role",
    "aws.iam.saml_provider",
    "aws.iam.user",
];

/// The catalog's IAM records by id text (`kind:account::id`).
fn resources(snap: &Path) -> BTreeMap<String, Value> {
    catalog_file(snap, "resources")
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .filter(|(id, _)| id.starts_with("aws.iam."))
        .collect()
}

/// The IAM coverage lines by kind: `(state, error)`; each is account-wide (region "").
fn coverage(snap: &Path) -> BTreeMap<String, (String, Value)> {
    catalog_file(snap, "coverage")
        .into_iter()
        .filter(|c| c["kind"].as_str().unwrap().starts_with("aws.iam."))
        .map(|c| {
            assert_eq!(c["account"], ACCOUNT, "{c:#}");
            assert_eq!(c["region"], "", "{c:#}");
            (
                c["kind"].as_str().unwrap().to_string(),
                (c["state"].as_str().unwrap().to_string(), c["error"].clone()),
            )
        })
        .collect()
}

async fn iam(endpoint: &str) -> Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    Client::new(&shared)
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const READ_V1: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
const READ_V2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::data/*"}]}"#;
const BOUNDARY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
const INLINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*:*:*"}]}"#;
const SAML_META: &str = r#"<?xml version="1.0"?><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>"#;

/// Seeds the estate; returns the access key id and its secret.
async fn seed(c: &Client) -> (String, String) {
    let p = c
        .create_policy()
        .policy_name("app-read")
        .path("/app/")
        .description("read app data")
        .policy_document(READ_V1)
        .tags(tag("team", "data"))
        .send()
        .await
        .unwrap();
    let read_arn = p.policy().unwrap().arn().unwrap().to_string();
    c.create_policy_version()
        .policy_arn(&read_arn)
        .policy_document(READ_V2)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    let b = c
        .create_policy()
        .policy_name("boundary")
        .policy_document(BOUNDARY)
        .send()
        .await
        .unwrap();
    let boundary_arn = b.policy().unwrap().arn().unwrap().to_string();

    c.create_role()
        .role_name("app-role")
        .path("/service/")
        .assume_role_policy_document(TRUST)
        .description("runs the app")
        .max_session_duration(7200)
        .permissions_boundary(&boundary_arn)
        .tags(tag("env", "prod"))
        .tags(tag("app", "shop"))
        .send()
        .await
        .unwrap();
    c.put_role_policy()
        .role_name("app-role")
        .policy_name("logs")
        .policy_document(INLINE)
        .send()
        .await
        .unwrap();
    c.attach_role_policy()
        .role_name("app-role")
        .policy_arn(&read_arn)
        .send()
        .await
        .unwrap();
    c.create_role()
        .role_name("plain")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();

    c.create_instance_profile()
        .instance_profile_name("app-profile")
        .send()
        .await
        .unwrap();
    c.add_role_to_instance_profile()
        .instance_profile_name("app-profile")
        .role_name("app-role")
        .send()
        .await
        .unwrap();

    c.create_group().group_name("devs").send().await.unwrap();
    c.attach_group_policy()
        .group_name("devs")
        .policy_arn(&read_arn)
        .send()
        .await
        .unwrap();
    c.put_group_policy()
        .group_name("devs")
        .policy_name("group-logs")
        .policy_document(INLINE)
        .send()
        .await
        .unwrap();
    c.create_user()
        .user_name("alice")
        .path("/people/")
        .tags(tag("owner", "alice"))
        .send()
        .await
        .unwrap();
    c.add_user_to_group()
        .group_name("devs")
        .user_name("alice")
        .send()
        .await
        .unwrap();
    c.attach_user_policy()
        .user_name("alice")
        .policy_arn(&read_arn)
        .send()
        .await
        .unwrap();
    c.put_user_policy()
        .user_name("alice")
        .policy_name("own")
        .policy_document(INLINE)
        .send()
        .await
        .unwrap();
    c.create_login_profile()
        .user_name("alice")
        .password("Corr3ct-Horse-Battery!")
        .send()
        .await
        .unwrap();
    let mfa = c
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice-phone")
        .send()
        .await
        .unwrap();
    let serial = mfa
        .virtual_mfa_device()
        .unwrap()
        .serial_number()
        .to_string();
    c.enable_mfa_device()
        .user_name("alice")
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    let k = c
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    c.create_user().user_name("bob").send().await.unwrap();

    c.create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("6938fd4d98bab03faadb97b34396831e3780aea1")
        .tags(tag("ci", "github"))
        .send()
        .await
        .unwrap();
    c.create_saml_provider()
        .name("corp-idp")
        .saml_metadata_document(SAML_META)
        .send()
        .await
        .unwrap();
    (
        k.access_key_id().to_string(),
        k.secret_access_key().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_estate_is_captured_field_by_field() {
    let emu = Emulator::start().await.unwrap();
    let c = iam(&emu.url()).await;
    let (key_id, secret) = seed(&c).await;
    // Sanity: the estate is there, with the customer managed policies.
    let listed = c
        .list_policies()
        .scope(PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.policies().len(), 2);

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = infrasnap(
        &repo,
        &emu.url(),
        &["--json", "snapshot", "--label", "first", "--only", "iam"],
    );
    assert_code(&o, 0);
    let mut outputs = vec![stdout(&o), stderr(&o)];
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = v["metadata"].clone();
    let col = &meta["collectors"]["iam"];
    assert_eq!(col["status"], "complete", "{col:#}");
    assert_eq!(col["counts"]["roles"], 2, "{col:#}");
    assert_eq!(col["counts"]["policies"], 2);
    assert_eq!(col["counts"]["users"], 2);
    assert_eq!(col["counts"]["groups"], 1);
    let snap = snapshot_dir(&repo, &meta);
    let dir = snap.join("iam").join(ACCOUNT);

    // Role.
    let role = read_json(&dir.join("roles/app-role.json"));
    assert_eq!(role["RoleName"], "app-role");
    assert_eq!(role["Path"], "/service/");
    assert_eq!(
        role["Arn"],
        "arn:aws:iam::123456789012:role/service/app-role"
    );
    let role_id = c.get_role().role_name("app-role").send().await.unwrap();
    assert_eq!(role["RoleId"], role_id.role().unwrap().role_id());
    assert!(role["CreateDate"].as_str().unwrap().ends_with('Z'));
    assert_eq!(role["Description"], "runs the app");
    assert_eq!(role["MaxSessionDuration"], 7200);
    assert_eq!(
        role["AssumeRolePolicyDocument"],
        serde_json::from_str::<Value>(TRUST).unwrap()
    );
    assert_eq!(
        role["PermissionsBoundary"]["PermissionsBoundaryArn"],
        "arn:aws:iam::123456789012:policy/boundary"
    );
    assert_eq!(
        role["PermissionsBoundary"]["PermissionsBoundaryType"],
        "PermissionsBoundaryPolicy"
    );
    assert_eq!(
        role["Tags"],
        json!([{"Key": "app", "Value": "shop"}, {"Key": "env", "Value": "prod"}])
    );
    assert_eq!(
        role["InlinePolicies"],
        json!({"logs": serde_json::from_str::<Value>(INLINE).unwrap()})
    );
    assert_eq!(
        role["AttachedManagedPolicies"],
        json!([{"PolicyName": "app-read", "PolicyArn": "arn:aws:iam::123456789012:policy/app/app-read"}])
    );
    assert_eq!(role["InstanceProfiles"], json!(["app-profile"]));
    assert!(role.get("Unreadable").is_none());
    let plain = read_json(&dir.join("roles/plain.json"));
    assert_eq!(plain["Path"], "/");
    assert_eq!(plain["AttachedManagedPolicies"], json!([]));
    assert!(plain.get("PermissionsBoundary").is_none());

    // Customer managed policy: the default (second) version.
    let pol = read_json(&dir.join("policies/app-read.json"));
    assert_eq!(pol["PolicyName"], "app-read");
    assert!(pol["PolicyId"].as_str().unwrap().len() > 5, "{pol:#}");
    assert_eq!(pol["Arn"], "arn:aws:iam::123456789012:policy/app/app-read");
    assert_eq!(pol["Path"], "/app/");
    assert_eq!(pol["Description"], "read app data");
    assert_eq!(pol["DefaultVersionId"], "v2");
    assert_eq!(
        pol["DefaultVersionDocument"],
        serde_json::from_str::<Value>(READ_V2).unwrap()
    );
    let versions: Vec<(&str, bool)> = pol["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["VersionId"].as_str().unwrap(),
                v["IsDefaultVersion"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, vec![("v1", false), ("v2", true)]);
    assert_eq!(pol["AttachmentCount"], 3);
    assert_eq!(pol["Tags"], json!([{"Key": "team", "Value": "data"}]));
    let boundary = read_json(&dir.join("policies/boundary.json"));
    assert_eq!(boundary["DefaultVersionId"], "v1");
    assert_eq!(
        boundary["DefaultVersionDocument"],
        serde_json::from_str::<Value>(BOUNDARY).unwrap()
    );

    // User: key id, status, no secret; groups, policies, login profile, MFA.
    let alice = read_json(&dir.join("users/alice.json"));
    assert_eq!(alice["UserName"], "alice");
    assert_eq!(alice["Path"], "/people/");
    assert_eq!(alice["Arn"], "arn:aws:iam::123456789012:user/people/alice");
    let alice_id = c.get_user().user_name("alice").send().await.unwrap();
    assert_eq!(alice["UserId"], alice_id.user().unwrap().user_id());
    assert_eq!(alice["Tags"], json!([{"Key": "owner", "Value": "alice"}]));
    assert_eq!(alice["Groups"], json!(["devs"]));
    assert_eq!(
        alice["InlinePolicies"],
        json!({"own": serde_json::from_str::<Value>(INLINE).unwrap()})
    );
    assert_eq!(
        alice["AttachedManagedPolicies"],
        json!([{"PolicyName": "app-read", "PolicyArn": "arn:aws:iam::123456789012:policy/app/app-read"}])
    );
    let keys = alice["AccessKeys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["AccessKeyId"], key_id.as_str());
    assert_eq!(keys[0]["Status"], "Active");
    assert!(keys[0]["CreateDate"].is_string());
    assert_eq!(alice["LoginProfile"]["Exists"], true);
    let mfa = alice["MFADevices"].as_array().unwrap();
    assert_eq!(mfa.len(), 1);
    assert_eq!(
        mfa[0]["SerialNumber"],
        "arn:aws:iam::123456789012:mfa/alice-phone"
    );
    let bob = read_json(&dir.join("users/bob.json"));
    assert_eq!(bob["AccessKeys"], json!([]));
    assert_eq!(bob["LoginProfile"], json!({"Exists": false}));
    assert_eq!(bob["MFADevices"], json!([]));
    assert_eq!(bob["Groups"], json!([]));

    // Group.
    let devs = read_json(&dir.join("groups/devs.json"));
    assert_eq!(devs["GroupName"], "devs");
    assert_eq!(devs["Arn"], "arn:aws:iam::123456789012:group/devs");
    assert_eq!(devs["Members"], json!(["alice"]));
    assert_eq!(
        devs["InlinePolicies"],
        json!({"group-logs": serde_json::from_str::<Value>(INLINE).unwrap()})
    );
    assert_eq!(devs["AttachedManagedPolicies"][0]["PolicyName"], "app-read");

    // Instance profiles and identity providers.
    let ip = read_json(&dir.join("instance_profiles.json"));
    let ips = ip["Items"].as_array().unwrap();
    assert_eq!(ips.len(), 1);
    assert_eq!(ips[0]["InstanceProfileName"], "app-profile");
    assert_eq!(
        ips[0]["Arn"],
        "arn:aws:iam::123456789012:instance-profile/app-profile"
    );
    assert_eq!(ips[0]["Roles"][0]["RoleName"], "app-role");
    assert_eq!(
        ips[0]["Roles"][0]["Arn"],
        "arn:aws:iam::123456789012:role/service/app-role"
    );
    let oidc = read_json(&dir.join("oidc_providers.json"));
    let oidc = &oidc["Items"][0];
    assert_eq!(
        oidc["Arn"],
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    );
    assert!(oidc["Url"]
        .as_str()
        .unwrap()
        .ends_with("token.actions.githubusercontent.com"));
    assert_eq!(oidc["ClientIDList"], json!(["sts.amazonaws.com"]));
    assert_eq!(
        oidc["ThumbprintList"],
        json!(["6938fd4d98bab03faadb97b34396831e3780aea1"])
    );
    assert_eq!(oidc["Tags"], json!([{"Key": "ci", "Value": "github"}]));
    let saml = read_json(&dir.join("saml_providers.json"));
    let saml = &saml["Items"][0];
    assert_eq!(
        saml["Arn"],
        "arn:aws:iam::123456789012:saml-provider/corp-idp"
    );
    assert_eq!(saml["SAMLMetadataDocument"], SAML_META);

    // The catalog: every resource by its name (a provider by its ARN's name), every listing
    // complete.
    let res = resources(&snap);
    let ids: Vec<&str> = res.keys().map(String::as_str).collect();
    let expected: Vec<String> = [
        ("credential_report", "credential_report"),
        ("group", "devs"),
        ("instance_profile", "app-profile"),
        ("oidc_provider", "token.actions.githubusercontent.com"),
        ("policy", "app-read"),
        ("policy", "boundary"),
        ("role", "app-role"),
        ("role", "plain"),
        ("saml_provider", "corp-idp"),
        ("user", "alice"),
        ("user", "bob"),
    ]
    .iter()
    .map(|(k, id)| format!("aws.iam.{k}:{ACCOUNT}::{id}"))
    .collect();
    assert_eq!(ids, expected);
    assert_eq!(
        res[&format!("aws.iam.role:{ACCOUNT}::app-role")]["path"],
        format!("iam/{ACCOUNT}/roles/app-role.json")
    );
    assert_eq!(
        res[&format!("aws.iam.user:{ACCOUNT}::alice")]["path"],
        format!("iam/{ACCOUNT}/users/alice.json")
    );
    assert!(
        res[&format!("aws.iam.instance_profile:{ACCOUNT}::app-profile")]
            .get("path")
            .is_none()
    );
    assert!(res.values().all(|r| r.get("incomplete").is_none()));
    let cov = coverage(&snap);
    assert_eq!(cov.keys().map(String::as_str).collect::<Vec<_>>(), KINDS);
    for (kind, (state, _)) in &cov {
        assert_eq!(state, "complete", "{kind}");
    }

    // The manifest has a table per kind.
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    println!("{manifest}");
    assert!(
        manifest.contains("| Role | Attached policies | Inline policies | Last used |"),
        "{manifest}"
    );
    assert!(
        manifest.contains("| app-role | 1 | 1 | never |"),
        "{manifest}"
    );
    assert!(manifest.contains("| app-read | 3 | v2 |"), "{manifest}");
    assert!(manifest.contains("| alice | 1 | 1 |"), "{manifest}");
    assert!(manifest.contains("| devs | 1 | 1 |"), "{manifest}");

    // A second snapshot of the unchanged estate adds no blob.
    let blobs = blob_count(&repo);
    let o = infrasnap(
        &repo,
        &emu.url(),
        &["--json", "snapshot", "--label", "second", "--only", "iam"],
    );
    assert_code(&o, 0);
    outputs.push(stdout(&o));
    outputs.push(stderr(&o));
    let v2: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v2["metadata"]["collectors"]["iam"]["blobs_new"], 0);
    assert_eq!(blob_count(&repo), blobs, "a second snapshot added blobs");
    let digests = |snap: &Path| -> BTreeMap<String, Value> {
        resources(snap)
            .into_iter()
            .map(|(id, r)| (id, r["digest"].clone()))
            .collect()
    };
    let snap2 = snapshot_dir(&repo, &v2["metadata"]);
    assert_eq!(digests(&snap), digests(&snap2));
    let o = infrasnap(&repo, &emu.url(), &["list"]);
    outputs.push(stdout(&o));
    outputs.push(stderr(&o));

    // The secret access key is nowhere: not under the repository, not in any output.
    assert!(secret.len() >= 20);
    for f in walk_files(&repo) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "secret access key in {}",
            f.display()
        );
    }
    for out in &outputs {
        assert!(!out.contains(&secret), "secret access key in output");
    }
    assert!(outputs[0].contains("iam"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_iam_is_recorded_and_s3_is_complete() {
    // Its own server: moto enforces IAM from reset-auth on.
    let emu = Emulator::start().await.unwrap();
    let s3 = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&s3, "site").await;
    put(&s3, "site", "index.html", b"<h1>hi</h1>").await;
    let c = iam(&emu.url()).await;
    c.create_role()
        .role_name("hidden")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    c.create_user().user_name("snapper").send().await.unwrap();
    c.put_user_policy()
        .user_name("snapper")
        .policy_name("no-iam")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["s3:*","sts:GetCallerIdentity"],"Resource":"*"},
                {"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let k = c
        .create_access_key()
        .user_name("snapper")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let (key, secret) = (
        k.access_key_id().to_string(),
        k.secret_access_key().to_string(),
    );

    let r = raw_post(&emu.moto.url(), "/moto-api/reset-auth", "0");
    assert!(r.contains("200"), "{r}");

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let o = command(
        &repo,
        &emu.url(),
        &["--json", "snapshot", "--only", "iam,s3"],
        &[
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    )
    .output()
    .unwrap();
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    assert_eq!(meta["status"], "partial");
    let col = &meta["collectors"]["iam"];
    assert_eq!(col["status"], "failed", "{col:#}");
    let errors = col["errors"].as_array().unwrap();
    let has = |action: &str, resource: &str| {
        errors.iter().any(|e| {
            e["service"] == "iam"
                && e["action"] == action
                && e["resource"] == resource
                && e["code"] == "AccessDenied"
        })
    };
    assert!(
        has("iam:GetAccountAuthorizationDetails", "*"),
        "{errors:#?}"
    );
    assert!(
        has("iam:ListRoles", "arn:aws:iam::123456789012:role/*"),
        "{errors:#?}"
    );
    assert!(
        has("iam:ListUsers", "arn:aws:iam::123456789012:user/*"),
        "{errors:#?}"
    );
    assert!(
        has(
            "iam:ListInstanceProfiles",
            "arn:aws:iam::123456789012:instance-profile/*"
        ),
        "{errors:#?}"
    );
    assert_eq!(col["counts"]["roles"], 0);
    assert_eq!(meta["collectors"]["s3"]["status"], "complete");
    let snap = snapshot_dir(&repo, meta);
    assert_eq!(
        std::fs::read(snap.join("s3_buckets/site/index.html")).unwrap(),
        b"<h1>hi</h1>"
    );
    assert!(!snap
        .join(format!("iam/{ACCOUNT}/roles/hidden.json"))
        .exists());
    // Every IAM listing failed: a diff calls what is missing "not comparable", not "removed".
    assert!(resources(&snap).is_empty());
    let cov = coverage(&snap);
    assert_eq!(cov.keys().map(String::as_str).collect::<Vec<_>>(), KINDS);
    for (kind, (state, error)) in &cov {
        assert_eq!(state, "failed", "{kind}");
        assert_eq!(error["service"], "iam", "{kind}: {error:#}");
        assert_eq!(error["code"], "AccessDenied", "{kind}: {error:#}");
    }
    assert_eq!(cov["aws.iam.role"].1["action"], "iam:ListRoles");
    assert_eq!(cov["aws.iam.group"].1["action"], "iam:ListGroups");
    assert_eq!(
        cov["aws.iam.saml_provider"].1["action"],
        "iam:ListSAMLProviders"
    );
    let manifest = std::fs::read_to_string(snap.join("MANIFEST.md")).unwrap();
    assert!(manifest.contains("complete with errors"), "{manifest}");
    assert!(
        manifest.contains("| iam | iam:GetAccountAuthorizationDetails | * | AccessDenied |"),
        "{manifest}"
    );
    assert!(manifest.contains("\"iam:ListRoles\""), "{manifest}");
    assert!(!stdout(&o).contains(&secret) && !stderr(&o).contains(&secret));
}

/// Drop what only the authorization details give (policy version lists, a role's instance
/// profiles) and what differs per run, so that two captures of one estate compare.
fn comparable(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("Versions");
        m.remove("InstanceProfiles");
        m.remove("RoleLastUsed");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_authorization_details_falls_back_to_per_entity_calls() {
    // Its own server: moto enforces IAM from reset-auth on.
    let emu = Emulator::start().await.unwrap();
    let c = iam(&emu.url()).await;
    let (_, alice_secret) = seed(&c).await;
    c.create_user().user_name("auditor").send().await.unwrap();
    c.put_user_policy()
        .user_name("auditor")
        .policy_name("all-but-details")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":["iam:*","sts:GetCallerIdentity"],"Resource":"*"},
                {"Effect":"Deny","Action":"iam:GetAccountAuthorizationDetails","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let k = c
        .create_access_key()
        .user_name("auditor")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let (key, secret) = (
        k.access_key_id().to_string(),
        k.secret_access_key().to_string(),
    );

    // The reference: everything readable, through the authorization details.
    let tmp = tempfile::tempdir().unwrap();
    let full_repo = tmp.path().join("full");
    let full = snapshot(&full_repo, &emu.url(), &["--only", "iam"]);
    let full_snap = snapshot_dir(&full_repo, &full);
    let full_dir = full_snap.join("iam").join(ACCOUNT);

    let r = raw_post(&emu.moto.url(), "/moto-api/reset-auth", "0");
    assert!(r.contains("200"), "{r}");
    let repo = tmp.path().join("repo");
    let o = command(
        &repo,
        &emu.url(),
        &["--json", "snapshot", "--only", "iam"],
        &[
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    )
    .output()
    .unwrap();
    assert_code(&o, 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let meta = &v["metadata"];
    let col = &meta["collectors"]["iam"];
    assert_eq!(col["status"], "partial", "{col:#}");
    let errors = col["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["action"], "iam:GetAccountAuthorizationDetails");
    assert_eq!(errors[0]["code"], "AccessDenied");
    for k in ["roles", "policies", "users", "groups"] {
        assert_eq!(
            col["counts"][k], full["collectors"]["iam"]["counts"][k],
            "{k}"
        );
    }
    let snap = snapshot_dir(&repo, meta);
    let dir = snap.join("iam").join(ACCOUNT);
    // The same resources, every listing complete (through the per-entity calls).
    assert_eq!(
        resources(&snap).keys().collect::<Vec<_>>(),
        resources(&full_snap).keys().collect::<Vec<_>>()
    );
    let cov = coverage(&snap);
    assert_eq!(cov.keys().map(String::as_str).collect::<Vec<_>>(), KINDS);
    for (kind, (state, _)) in &cov {
        assert_eq!(state, "complete", "{kind}");
    }
    for f in [
        "roles/app-role.json",
        "roles/plain.json",
        "policies/app-read.json",
        "policies/boundary.json",
        "users/alice.json",
        "users/bob.json",
        "groups/devs.json",
        "instance_profiles.json",
        "oidc_providers.json",
        "saml_providers.json",
    ] {
        assert_eq!(
            comparable(read_json(&dir.join(f))),
            comparable(read_json(&full_dir.join(f))),
            "{f}"
        );
    }
    for f in walk_files(tmp.path()) {
        let bytes = std::fs::read(&f).unwrap();
        for s in [&secret, &alice_secret] {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "secret in {}",
                f.display()
            );
        }
    }
}
