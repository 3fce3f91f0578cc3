//! infrasnap's integration tests, in one test binary (each binary links the whole AWS SDK again,
//! which costs minutes on 2 cores): they run the real `infrasnap` binary against moto server and
//! the harness's stand-ins on loopback (crates/infrasnap-emulator). One module per area; shared
//! helpers in `common/`. Run one area with `cargo test -p infrasnap --test it <module>::`.

// Each module uses part of what common/ offers.
#[allow(unused_imports)]
mod common;

mod accounts;
mod acm_ses;
mod apigateway;
mod cloudfront;
mod crash_and_lock;
mod diff_cli;
mod dynamodb;
mod elb;
mod estate;
mod findings;
mod formats;
mod gas;
mod hardening;
mod honest;
mod iam;
mod integrity;
mod lambda;
mod lightsail;
mod local;
mod permissions;
mod restore;
mod restore_acm_health;
mod restore_apigateway;
mod restore_cloudfront;
mod restore_cloudfront2;
mod restore_dns_iam;
mod restore_dynamodb;
mod restore_lambda;
mod restore_local;
mod restore_readback;
mod restore_s3_settings;
mod restore_secrets;
mod restore_secrets2;
mod restore_targets;
mod retention;
mod route53;
mod s3_incremental;
mod s3_snapshot;
mod ssm;
