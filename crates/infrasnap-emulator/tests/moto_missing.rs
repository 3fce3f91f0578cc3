//! The "moto not installed" error. Its own test binary (process) because it
//! sets an environment variable.

use infrasnap_emulator::{MotoServer, MOTO_SERVER_ENV};

#[test]
fn missing_binary_error_mentions_scripts_test() {
    std::env::set_var(MOTO_SERVER_ENV, "/nonexistent/moto_server");
    let err = MotoServer::start().unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("scripts/test"), "{msg}");
    assert!(msg.contains("/nonexistent/moto_server"), "{msg}");
}
