//! `infrasnap demo`: a first run with no AWS account. Starts moto server (a local AWS emulator)
//! on a loopback port, fills it with a small company's sample estate, takes a snapshot, makes the
//! kind of careless change that motivated infrasnap, and takes a second, incremental snapshot.

use std::path::PathBuf;

use anyhow::Context;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, IndexDocument, VersioningConfiguration, WebsiteConfiguration,
};
use infrasnap_emulator::Emulator;

use super::snapshot::{self, SnapshotArgs};
use super::Global;
use crate::aws_setup::{AwsArgs, StaticCredentials};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// The moto server program [default: the build checkout's .venv-moto/bin/moto_server, else
    /// moto_server in an absolute PATH folder; never one from the current folder unless named
    /// here; `scripts/demo` installs it and names it]
    #[arg(long, env = "INFRASNAP_MOTO_SERVER", value_name = "PATH")]
    pub moto_server: Option<PathBuf>,
}

/// Deterministic filler bytes standing in for images and video.
fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn page(title: &str, body: &str) -> Vec<u8> {
    format!(
        "<!doctype html>\n<html><head><title>{title}</title><link rel=\"stylesheet\" href=\"/css/site.css\"></head>\n<body><h1>{title}</h1>\n<p>{body}</p>\n</body></html>\n"
    )
    .into_bytes()
}

async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> anyhow::Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .cache_control("max-age=300")
        .body(ByteStream::from(body))
        .send()
        .await
        .with_context(|| format!("seeding s3://{bucket}/{key}"))?;
    Ok(())
}

async fn seed(s3: &aws_sdk_s3::Client) -> anyhow::Result<()> {
    for b in [
        "acme-www-prod",
        "acme-www-staging",
        "acme-events-prod",
        "acme-media",
    ] {
        s3.create_bucket().bucket(b).send().await?;
    }
    for site in ["acme-www-prod", "acme-www-staging"] {
        s3.put_bucket_website()
            .bucket(site)
            .website_configuration(
                WebsiteConfiguration::builder()
                    .index_document(IndexDocument::builder().suffix("index.html").build()?)
                    .build(),
            )
            .send()
            .await?;
        let banner = if site.ends_with("staging") {
            " (staging)"
        } else {
            ""
        };
        put(
            s3,
            site,
            "index.html",
            page(&format!("Acme Sailing{banner}"), "Welcome aboard."),
            "text/html",
        )
        .await?;
        put(
            s3,
            site,
            "about.html",
            page("About us", "Sailing since 1998."),
            "text/html",
        )
        .await?;
        put(
            s3,
            site,
            "css/site.css",
            b"body { font-family: sans-serif; }\n".to_vec(),
            "text/css",
        )
        .await?;
        put(s3, site, "img/logo.png", filler(1, 12_000), "image/png").await?;
        put(s3, site, "img/hero.jpg", filler(2, 180_000), "image/jpeg").await?;
    }
    s3.put_bucket_versioning()
        .bucket("acme-events-prod")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    for (k, t) in [
        (
            "events/2026-spring-regatta.html",
            "Spring Regatta: 14 May 2026, 10:00",
        ),
        (
            "events/2026-summer-cup.html",
            "Summer Cup: 2 July 2026, registration open",
        ),
        ("events/index.html", "Upcoming events"),
    ] {
        put(s3, "acme-events-prod", k, page(t, t), "text/html").await?;
    }
    put(
        s3,
        "acme-media",
        "video/intro.mp4",
        filler(3, 2_500_000),
        "video/mp4",
    )
    .await?;
    put(
        s3,
        "acme-media",
        "photos/2025/regatta-01.jpg",
        filler(4, 400_000),
        "image/jpeg",
    )
    .await?;
    put(
        s3,
        "acme-media",
        "photos/2025/regatta-02.jpg",
        filler(5, 420_000),
        "image/jpeg",
    )
    .await?;
    Ok(())
}

/// The sites' CloudFront distributions: www and events on their prod buckets, and staging on the
/// prod bucket too, under `/_staging` (the setup that risked overwriting production, which
/// `infrasnap findings` flags). Their domain names, for DNS: www, staging, events.
#[cfg(feature = "cloudfront")]
async fn seed_cdn(sdk: &aws_config::SdkConfig) -> anyhow::Result<[String; 3]> {
    use aws_sdk_cloudfront::types::{
        CookiePreference, DefaultCacheBehavior, DistributionConfig, ForwardedValues, ItemSelection,
        Origin, Origins, S3OriginConfig, ViewerProtocolPolicy,
    };
    let cf = aws_sdk_cloudfront::Client::new(sdk);
    let mut out: [String; 3] = Default::default();
    let sites = [
        ("www", "acme-www-prod", "", "prod site"),
        ("staging", "acme-www-prod", "/_staging", "staging site"),
        ("events", "acme-events-prod", "", "prod events"),
    ];
    for (i, (name, bucket, path, comment)) in sites.into_iter().enumerate() {
        #[allow(deprecated)]
        let behavior = DefaultCacheBehavior::builder()
            .target_origin_id("s3")
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .forwarded_values(
                ForwardedValues::builder()
                    .query_string(false)
                    .cookies(
                        CookiePreference::builder()
                            .forward(ItemSelection::None)
                            .build()?,
                    )
                    .build()?,
            )
            .min_ttl(0)
            .build()?;
        let origin = Origin::builder()
            .id("s3")
            .domain_name(format!("{bucket}.s3.us-east-1.amazonaws.com"))
            .origin_path(path)
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .build()?;
        let cfg = DistributionConfig::builder()
            .caller_reference(format!("infrasnap-demo-{name}"))
            .origins(Origins::builder().quantity(1).items(origin).build()?)
            .default_cache_behavior(behavior)
            .comment(comment)
            .enabled(true)
            .build()?;
        let d = cf
            .create_distribution()
            .distribution_config(cfg)
            .send()
            .await?;
        out[i] = d
            .distribution()
            .map(|d| d.domain_name().to_string())
            .unwrap_or_default();
    }
    Ok(out)
}

/// Without CloudFront built in, DNS names distributions that are not in the snapshot.
#[cfg(not(feature = "cloudfront"))]
async fn seed_cdn(_sdk: &aws_config::SdkConfig) -> anyhow::Result<[String; 3]> {
    Ok([
        "d111111abcdef8.cloudfront.net".into(),
        "d222222abcdef8.cloudfront.net".into(),
        "d333333abcdef8.cloudfront.net".into(),
    ])
}

/// The rest of the estate: the sites' DNS zone and the event registrations table.
async fn seed_dns_and_tables(sdk: &aws_config::SdkConfig) -> anyhow::Result<()> {
    let [www, staging, events] = seed_cdn(sdk).await?;
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    };
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let r53 = aws_sdk_route53::Client::new(sdk);
    let zone = r53
        .create_hosted_zone()
        .name("acme-sailing.example")
        .caller_reference("infrasnap-demo")
        .send()
        .await?;
    let zone_id = zone
        .hosted_zone()
        .map(|z| z.id().to_string())
        .unwrap_or_default();
    let rr = |name: &str, t: RrType, value: &str| -> anyhow::Result<Change> {
        Ok(Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(
                ResourceRecordSet::builder()
                    .name(name)
                    .r#type(t)
                    .ttl(300)
                    .resource_records(ResourceRecord::builder().value(value).build()?)
                    .build()?,
            )
            .build()?)
    };
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(rr("www.acme-sailing.example.", RrType::Cname, &www)?)
                .changes(rr(
                    "staging.acme-sailing.example.",
                    RrType::Cname,
                    &staging,
                )?)
                .changes(rr("events.acme-sailing.example.", RrType::Cname, &events)?)
                .changes(rr(
                    "acme-sailing.example.",
                    RrType::Txt,
                    "\"v=spf1 include:amazonses.com ~all\"",
                )?)
                .build()?,
        )
        .send()
        .await?;

    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    ddb.create_table()
        .table_name("event-registrations")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("event")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("email")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("event")
                .key_type(KeyType::Hash)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("email")
                .key_type(KeyType::Range)
                .build()?,
        )
        .send()
        .await?;
    for (i, name) in ["Ada", "Grace", "Linus", "Margaret", "Ken"]
        .iter()
        .enumerate()
    {
        ddb.put_item()
            .table_name("event-registrations")
            .item("event", AttributeValue::S("2026-spring-regatta".into()))
            .item(
                "email",
                AttributeValue::S(format!("{}@example.com", name.to_lowercase())),
            )
            .item("name", AttributeValue::S(name.to_string()))
            .item("boat_length_m", AttributeValue::N(format!("{}", 6 + i)))
            .send()
            .await?;
    }
    Ok(())
}

pub async fn run(g: &Global, a: DemoArgs) -> anyhow::Result<u8> {
    let emu = Emulator::start_with(a.moto_server, &[]).await.context(
        "the demo runs a local AWS emulator (moto server). Run `scripts/demo`, which installs it \
         into .venv-moto and runs this demo, or install it with \
         `python3 -m pip install 'moto[server]==5.2.5'`, or pass --moto-server PATH",
    )?;
    let repo = g.repo_or("demo-snapshots");
    let say = |s: &str| {
        if !g.json && !g.quiet {
            eprintln!("{s}");
        }
    };
    say(&format!(
        "Started a local AWS emulator (moto) at {}",
        emu.url()
    ));

    let creds = || StaticCredentials {
        access_key: "demo".into(),
        secret_key: "demo".into(),
    };
    let aws = AwsArgs {
        endpoint_url: Some(emu.url()),
        region: Some("us-east-1".into()),
        ..Default::default()
    };
    let sdk = crate::aws_setup::load(&aws, Some(creds())).await?;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk.sdk)
            .force_path_style(true)
            .build(),
    );
    seed(&s3)
        .await
        .context("filling the emulator with the sample estate")?;
    seed_dns_and_tables(&sdk.sdk)
        .await
        .context("filling the emulator with the sample estate")?;
    say(
        "Filled it with Acme Sailing's estate: 4 buckets (www prod and staging, events, media), \
         CloudFront distributions in front of them, a DNS zone, and an event registrations table.",
    );

    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let args = |label: String| SnapshotArgs {
        label: Some(label),
        jobs: 16,
        bucket_jobs: 4,
        aws: aws.clone(),
        ..Default::default()
    };
    say("\n1) Snapshot of the whole estate:");
    let first = snapshot::take(
        g,
        &repo,
        &args(format!("demo-{stamp}-before")),
        Some(creds()),
        &Default::default(),
    )
    .await?;
    snapshot::report(g, &first)?;

    // The careless operation: an old copy of an event page is deployed over the live one.
    put(
        &s3,
        "acme-events-prod",
        "events/2026-spring-regatta.html",
        page(
            "Spring Regatta",
            "Spring Regatta: 9 May 2025 (last year's page)",
        ),
        "text/html",
    )
    .await?;
    say("\n2) A careless deploy overwrites a live event page. Second snapshot (only the change is downloaded):");
    let second = snapshot::take(
        g,
        &repo,
        &args(format!("demo-{stamp}-after")),
        Some(creds()),
        &Default::default(),
    )
    .await?;
    let code = snapshot::report(g, &second)?;
    // 3) What changed, as `infrasnap diff` shows it.
    let report = infrasnap_core::diff::diff_snapshots(
        &first.dir,
        &second.dir,
        &repo.join(".infrasnap").join("blobs"),
        &Default::default(),
        &infrasnap_core::diff::DiffOptions {
            content: true,
            ..Default::default()
        },
    )?;
    if !g.json && !g.quiet {
        say(&format!(
            "\n3) What changed (infrasnap diff {} {} --content):",
            first.meta.name, second.meta.name
        ));
        eprint!(
            "{}",
            infrasnap_core::diff::render::diff(
                &report,
                infrasnap_core::diff::render::Style { color: false }
            )
        );
    }
    if g.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "repository": repo, "snapshots": [first.meta.name, second.meta.name],
            }))?
        );
    } else {
        let r = repo.display();
        say(&format!(
            "\nDone. Look around:\n  ls {r}/{b}/s3_buckets/            # every bucket, as plain files\n  \
             cat {r}/{b}/MANIFEST.md                # what was captured\n  \
             diff {r}/{b}/s3_buckets/acme-events-prod/events/2026-spring-regatta.html \\\n       \
             {r}/{a}/s3_buckets/acme-events-prod/events/2026-spring-regatta.html\n  \
             infrasnap diff {b} {a} --content --repo {r}   # what changed, resource by resource\n  \
             infrasnap log s3_buckets/acme-events-prod/events/2026-spring-regatta.html --repo {r}\n  \
             infrasnap findings --repo {r}   # risky setups: staging served from the prod bucket\n  \
             infrasnap report --repo {r} -o report.html   # the estate on one offline page\n  \
             infrasnap list --repo {r}\n  infrasnap verify --all --repo {r}",
            b = first.meta.name,
            a = second.meta.name
        ));
    }
    drop(emu);
    Ok(if code == exit::OK { exit::OK } else { code })
}
