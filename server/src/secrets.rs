//! The server's own secrets (password pepper, ID-hash key). Taken from the configuration when
//! set there; otherwise read from `data_dir/secrets.toml`, which is generated with random
//! values at first start and readable by the owner only. Losing the pepper makes every
//! password unusable, so the file belongs in backups.

use crate::StartupError;
use crate::config::Settings;
use app::server::Secrets;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct SecretsFile {
    pepper: String,
    id_hash_key: String,
}

pub fn load(settings: &Settings) -> Result<Secrets, StartupError> {
    if let (Some(pepper), Some(key)) = (&settings.pepper, &settings.id_hash_key) {
        return Ok(Secrets {
            pepper: pepper.clone(),
            id_hash_key: key.clone(),
        });
    }
    let path = settings.data_dir.join("secrets.toml");
    let err = |reason: String| StartupError::Secrets {
        path: path.display().to_string(),
        reason,
    };
    let file: SecretsFile = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| err(e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let fresh = SecretsFile {
                pepper: random_token(),
                id_hash_key: random_token(),
            };
            let text = toml::to_string(&fresh).map_err(|e| err(e.to_string()))?;
            write_private(&path, &text).map_err(|e| err(e.to_string()))?;
            tracing::warn!(path = %path.display(), "generated new server secrets; keep this file with your backups");
            fresh
        }
        Err(e) => return Err(err(e.to_string())),
    };
    Ok(Secrets {
        pepper: settings
            .pepper
            .clone()
            .unwrap_or_else(|| SecretString::from(file.pepper)),
        id_hash_key: settings
            .id_hash_key
            .clone()
            .unwrap_or_else(|| SecretString::from(file.id_hash_key)),
    })
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// 32 random bytes from the operating system, hex encoded.
fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}
