//! The server's own secrets: the password pepper, the ID-hash key, and the data key that
//! seals secrets at rest. Each is taken from the configuration when set there; otherwise from
//! `data_dir/secrets.toml`, which is generated with random values at first start and readable
//! by the owner only. Losing the pepper makes every password unusable, and losing the data
//! key every TOTP secret and pay-code key, so the file belongs in backups (kept apart from the
//! database's).

use crate::StartupError;
use crate::config::Settings;
use app::server::Secrets;
use app::server::sealing::Sealer;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct SecretsFile {
    pepper: String,
    id_hash_key: String,
    /// Added after the first release: a file without it gets one at the next start.
    #[serde(default)]
    data_key: Option<String>,
}

pub fn load(settings: &Settings) -> Result<Secrets, StartupError> {
    let path = settings.data_dir.join("secrets.toml");
    let err = |reason: String| StartupError::Secrets {
        path: path.display().to_string(),
        reason,
    };
    // Secrets kept outside the data directory are all kept there: a data key made up in a
    // data directory that a redeploy throws away would lock every sealed secret out.
    if settings.pepper.is_some() && settings.id_hash_key.is_some() && settings.data_key.is_none() {
        return Err(err(
            "YIKATONG_PEPPER and YIKATONG_ID_HASH_KEY are set but YIKATONG_DATA_KEY is not: set it \
             too (64 hex digits, e.g. `openssl rand -hex 32`), and keep it with the other two"
                .into(),
        ));
    }
    let (pepper, id_hash_key, data_key) =
        match (&settings.pepper, &settings.id_hash_key, &settings.data_key) {
            (Some(p), Some(k), Some(d)) => (p.clone(), k.clone(), d.clone()),
            _ => {
                let file = read_or_create(&path).map_err(err)?;
                let data_key = file.data_key.unwrap_or_default();
                (
                    settings
                        .pepper
                        .clone()
                        .unwrap_or_else(|| SecretString::from(file.pepper)),
                    settings
                        .id_hash_key
                        .clone()
                        .unwrap_or_else(|| SecretString::from(file.id_hash_key)),
                    settings
                        .data_key
                        .clone()
                        .unwrap_or_else(|| SecretString::from(data_key)),
                )
            }
        };
    let sealer = Sealer::from_hex(data_key.expose_secret()).map_err(|e| err(e.to_string()))?;
    Ok(Secrets {
        pepper,
        id_hash_key,
        sealer,
    })
}

/// The secrets file: created with random values at first start; a file from before the data
/// key existed gets one added (written to a new file that then replaces the old one).
fn read_or_create(path: &std::path::Path) -> Result<SecretsFile, String> {
    let mut file: SecretsFile = match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| e.to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let fresh = SecretsFile {
                pepper: random_token(),
                id_hash_key: random_token(),
                data_key: Some(random_token()),
            };
            let text = toml::to_string(&fresh).map_err(|e| e.to_string())?;
            write_private(path, &text).map_err(|e| e.to_string())?;
            tracing::warn!(path = %path.display(), "generated new server secrets; keep this file with your backups");
            return Ok(fresh);
        }
        Err(e) => return Err(e.to_string()),
    };
    if file.data_key.is_none() {
        file.data_key = Some(random_token());
        let text = toml::to_string(&file).map_err(|e| e.to_string())?;
        let fresh = path.with_extension("toml.new");
        let _ = std::fs::remove_file(&fresh);
        write_private(&fresh, &text).map_err(|e| e.to_string())?;
        std::fs::rename(&fresh, path).map_err(|e| e.to_string())?;
        tracing::warn!(path = %path.display(), "added a data key to the server secrets; keep this file with your backups");
    }
    Ok(file)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_file_from_before_the_data_key_gets_one_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        write_private(&path, "pepper = \"p1\"\nid_hash_key = \"k1\"\n").unwrap();
        let file = read_or_create(&path).unwrap();
        assert_eq!(
            (file.pepper.as_str(), file.id_hash_key.as_str()),
            ("p1", "k1")
        );
        let key = file.data_key.unwrap();
        assert!(Sealer::from_hex(&key).is_ok());
        // Written back, readable by the owner only, and the same at the next start.
        let again = read_or_create(&path).unwrap();
        assert_eq!(again.data_key.as_deref(), Some(key.as_str()));
        assert_eq!(again.pepper, "p1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_fresh_file_has_all_three() {
        let dir = tempfile::tempdir().unwrap();
        let file = read_or_create(&dir.path().join("secrets.toml")).unwrap();
        assert_ne!(file.pepper, file.id_hash_key);
        assert!(Sealer::from_hex(&file.data_key.unwrap()).is_ok());
    }
}
