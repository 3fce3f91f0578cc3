//! Several accounts in one snapshot: the second through sts:AssumeRole (with an external id),
//! the path a real multi-account run takes. S3 buckets are a global kind: whatever the account,
//! a bucket is at `s3_buckets/<bucket>/` with its index at `index/s3_buckets/<bucket>.jsonl`, and
//! its catalog id names the account (`aws.s3.bucket:<account>::<bucket>`).

use crate::common;

use std::os::unix::fs::PermissionsExt;

use aws_credential_types::Credentials;
use common::*;

async fn client_in_account(url: &str, role: &str) -> aws_sdk_s3::Client {
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "t"))
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&base);
    let c = sts
        .assume_role()
        .role_arn(role)
        .role_session_name("seed")
        .send()
        .await
        .unwrap();
    let c = c.credentials().unwrap();
    let conf = aws_sdk_s3::config::Builder::from(&base)
        .credentials_provider(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        ))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_one_through_assume_role() {
    let emu = Emulator::start().await.unwrap();
    let role = "arn:aws:iam::222222222222:role/infrasnap-read";
    let main = s3_client(&emu.url(), "us-east-1").await;
    create_bucket(&main, "main-site").await;
    put(&main, "main-site", "index.html", b"main").await;
    // The main account manages an AWS Organization with one more member.
    let org = aws_sdk_organizations::Client::new(
        &aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(emu.url())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "t"))
            .load()
            .await,
    );
    org.create_organization().send().await.unwrap();
    org.create_account()
        .account_name("shop")
        .email("shop@example.com")
        .send()
        .await
        .unwrap();
    let other = client_in_account(&emu.url(), role).await;
    create_bucket(&other, "marketing-site").await;
    put(&other, "marketing-site", "index.html", b"marketing").await;

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let cfg = tmp.path().join("infrasnap.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[aws.accounts]]\nname = \"main\"\n\n[[aws.accounts]]\nname = \"marketing\"\nrole_arn = \"{role}\"\nexternal_id = \"acme-infrasnap\"\n"
        ),
    )
    .unwrap();
    let cfg_arg = cfg.to_str().unwrap();
    let meta = snapshot(&repo, &emu.url(), &["--config", cfg_arg, "--label", "both"]);
    assert_eq!(meta["status"], "complete", "{meta:#}");
    let ids: Vec<&str> = meta["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["123456789012", "222222222222"]);
    // The organization's accounts, where readable, marked when captured here.
    let org_accounts = meta["organization_accounts"]
        .as_array()
        .expect("organization_accounts");
    assert_eq!(org_accounts.len(), 2, "{org_accounts:#?}");
    let main_acct = org_accounts
        .iter()
        .find(|a| a["id"] == "123456789012")
        .expect("management account listed");
    assert_eq!(main_acct["captured"], true);
    let shop = org_accounts.iter().find(|a| a["name"] == "shop").unwrap();
    assert_eq!(shop["captured"], false);
    assert_eq!(shop["status"], "ACTIVE");
    let snap = snapshot_dir(&repo, &meta);
    let buckets = snap.join("s3_buckets");
    assert_eq!(
        std::fs::read(buckets.join("main-site/index.html")).unwrap(),
        b"main"
    );
    assert_eq!(
        std::fs::read(buckets.join("marketing-site/index.html")).unwrap(),
        b"marketing"
    );
    assert!(!snap
        .join("aws_accounts")
        .join("123456789012/s3_buckets")
        .exists());
    assert!(!snap
        .join("aws_accounts")
        .join("222222222222/s3_buckets")
        .exists());
    // Each bucket is a resource of its own account; each account's bucket listing is covered.
    let records = catalog_of_kind(&snap, "resources", "aws.s3.bucket");
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "aws.s3.bucket:123456789012::main-site",
            "aws.s3.bucket:222222222222::marketing-site",
        ]
    );
    for r in &records {
        let name = r["id"].as_str().unwrap().rsplit(':').next().unwrap();
        assert_eq!(r["index"], format!("index/s3_buckets/{name}.jsonl"));
        assert_eq!(r["parts"]["objects"]["path"], format!("s3_buckets/{name}"));
        assert_eq!(r["path"], format!("s3_bucket_config/{name}.json"));
    }
    let cov = catalog_of_kind(&snap, "coverage", "aws.s3.bucket");
    let covered: Vec<(&str, &str)> = cov
        .iter()
        .map(|c| (c["account"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        covered,
        [("123456789012", "complete"), ("222222222222", "complete")]
    );
    assert!(
        meta["collectors"]["s3:222222222222"].is_object(),
        "{meta:#}"
    );
    assert_code(&infrasnap(&repo, &emu.url(), &["verify"]), 0);

    // Incremental per account.
    let again = snapshot(
        &repo,
        &emu.url(),
        &["--config", cfg_arg, "--label", "again"],
    );
    for k in ["s3:123456789012", "s3:222222222222"] {
        assert_eq!(again["collectors"][k]["objects_downloaded"], 0, "{k}");
    }

    // A format-1 repository of several accounts had a bucket's index under
    // `index/aws_accounts/<account>/`: a run on top of it still links, not downloads. (The index
    // of `again` is moved there, standing in for such a snapshot.)
    let again_dir = snapshot_dir(&repo, &again);
    let legacy = again_dir.join("index/aws_accounts/222222222222/s3_buckets");
    std::fs::create_dir_all(&legacy).unwrap();
    std::fs::rename(
        again_dir.join("index/s3_buckets/marketing-site.jsonl"),
        legacy.join("marketing-site.jsonl"),
    )
    .unwrap();
    // Such a snapshot was written before seals existed: no seal, no `seal` in its metadata.
    std::fs::remove_file(again_dir.join("snapshot_seal.json")).unwrap();
    let meta_path = again_dir.join("snapshot_metadata.json");
    let mut m = read_json(&meta_path);
    m.as_object_mut().unwrap().remove("seal");
    std::fs::set_permissions(&meta_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&meta_path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let third = snapshot(
        &repo,
        &emu.url(),
        &["--config", cfg_arg, "--label", "third"],
    );
    assert_eq!(third["parent"], "again");
    assert_eq!(
        third["collectors"]["s3:222222222222"]["objects_downloaded"],
        0
    );
    assert_eq!(
        std::fs::read(snapshot_dir(&repo, &third).join("s3_buckets/marketing-site/index.html"))
            .unwrap(),
        b"marketing"
    );
}
