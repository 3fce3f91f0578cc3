//! `infrasnap key export | import | path`: move a repository's fingerprint key deliberately.
//!
//! The key keyed-hashes secret values into the `fp:` markers of every snapshot. It lives outside
//! the repository (under the user's config folder, named by the repository's id), so a copy of
//! the repository does not carry it; these commands move it on purpose.

use std::io::{Read, Write};
use std::path::PathBuf;

use infrasnap_core::repo::Repository;
use infrasnap_core::secrets::{config_home, existing_key, import_key, KeyPlace};

use super::Global;
use crate::exit;

#[derive(clap::Subcommand, Debug)]
pub enum KeyCommand {
    /// Print the repository's fingerprint key (64 hex characters), or write it to a new file
    /// (mode 0600) with --out; keep it as safe as the credentials it protects
    Export {
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Install a key exported with `infrasnap key export` for this repository (FILE, or - for
    /// standard input)
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Replace a different key already there
        #[arg(long)]
        force: bool,
    },
    /// Where this repository's key is kept, and whether it is there
    Path,
}

pub fn run(g: &Global, cmd: KeyCommand) -> anyhow::Result<u8> {
    // The config's `[secrets] key_store` (a config that cannot be used changes nothing here).
    let _ = super::snapshot::load_config(None);
    let repo = Repository::open(&g.repo_or("snapshots"))?;
    let meta = repo.root().join(".infrasnap");
    let home = config_home();
    match cmd {
        KeyCommand::Export { out } => {
            let Some((fp, _)) = existing_key(&meta, home.as_deref())? else {
                anyhow::bail!(
                    "this repository has no fingerprint key here (looked at {}); it is on the \
                     machine that took its snapshots: export it there",
                    KeyPlace::of(&meta, home.as_deref())?.file.display()
                );
            };
            let text = format!("{}\n", fp.export_hex());
            match out {
                Some(p) => {
                    use std::os::unix::fs::OpenOptionsExt;
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&p)
                        .map_err(|e| anyhow::anyhow!("create {}: {e}", p.display()))?;
                    f.write_all(text.as_bytes())?;
                    if !g.quiet {
                        eprintln!("wrote the fingerprint key to {}", p.display());
                    }
                }
                None => print!("{text}"),
            }
            Ok(exit::OK)
        }
        KeyCommand::Import { file, force } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text)?;
            } else {
                text = std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("read {}: {e}", file.display()))?;
            }
            let at = import_key(&meta, home.as_deref(), text.trim(), force)?;
            if g.json {
                println!("{}", serde_json::json!({ "key": at }));
            } else if !g.quiet {
                println!("installed the fingerprint key at {}", at.display());
            }
            Ok(exit::OK)
        }
        KeyCommand::Path => {
            let KeyPlace { file, legacy } = KeyPlace::of(&meta, home.as_deref())?;
            // The OS keychain holds it when `[secrets] key_store = "keychain"`, or when it is
            // there already (`auto`); else the file.
            let keychain_only = infrasnap_core::keychain::key_store()
                == infrasnap_core::keychain::KeyStore::Keychain;
            let keychain = match keychain_only {
                true => infrasnap_core::keychain::chosen(home.as_deref())
                    .map_err(anyhow::Error::msg)?
                    .map(|k| -> anyhow::Result<PathBuf> {
                        Ok(k.describe(&infrasnap_core::repo::repository_id(&meta)?)
                            .into())
                    })
                    .transpose()?,
                false => None,
            };
            let found = existing_key(&meta, home.as_deref())?.map(|(_, p)| p);
            let place = match (&found, keychain) {
                (Some(p), _) if *p != legacy => p.clone(),
                (_, Some(k)) => k,
                _ => file,
            };
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({ "key": place, "present": found.is_some(), "found_at": found })
                );
            } else {
                println!("{}", place.display());
                match found {
                    Some(p) if p != place => println!(
                        "(still inside the repository at {}; the next snapshot moves it out)",
                        p.display()
                    ),
                    Some(_) => {}
                    None => println!(
                        "(not there: the next snapshot makes a new key, and its fingerprints \
                         cannot be compared with earlier ones; import the old key first)"
                    ),
                }
            }
            Ok(exit::OK)
        }
    }
}
