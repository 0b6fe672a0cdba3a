//! The browser bundle's file names, and how long a browser may keep each file.
//!
//! A release build (`build_release` in scripts/setup.sh sets cargo-leptos' `LEPTOS_HASH_FILES`)
//! names the wasm, its script and the style sheet after a hash of their contents
//! (`pkg/yikatong.<hash>.wasm`) and writes the hashes to `hash.txt` beside the server binary,
//! where leptos' `HydrationScripts` and `HashedStylesheet` read them. A file whose name
//! changes with every change of its contents never needs asking for again: it is sent
//! `immutable` for a year. The service worker and the offline page name those files too, so
//! the server sends them with the names of the build it serves.
//!
//! A site built without hashing (a debug build, `cargo leptos watch`, whose rebuilds would not
//! rename the files) keeps the plain names, and everything is asked for again on each visit.
//! The pages read `hash.txt` as they render: replace the files of a running server only by
//! restarting it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};

/// How long the browser keeps a file whose name is its contents' hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The three files of the bundle, as the pages name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFiles {
    /// `/pkg/yikatong.<hash>.js`, or `/pkg/yikatong.js` unhashed.
    pub js: String,
    pub wasm: String,
    pub css: String,
    /// Whether the names carry hashes (and may be kept for good).
    pub hashed: bool,
}

/// The hashes `hash.txt` gives, one line each (`js: …`, `wasm: …`, `css: …`; other lines, such
/// as a split bundle's manifest, are not ours to read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

/// Reads `hash.txt`. A hash is what cargo-leptos writes (URL-safe base64 of an MD5, 22
/// characters); anything else is refused rather than put into a path.
pub fn parse_hashes(text: &str) -> Result<Hashes, String> {
    let mut found: [Option<String>; 3] = [None, None, None];
    for line in text.lines() {
        let Some((kind, hash)) = line.split_once(':') else {
            continue;
        };
        let slot = match kind.trim() {
            "js" => 0,
            "wasm" => 1,
            "css" => 2,
            _ => continue,
        };
        let hash = hash.trim();
        let well_formed = hash.len() == 22
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(format!(
                "its {} hash {hash:?} is not one cargo-leptos writes",
                kind.trim()
            ));
        }
        found[slot] = Some(hash.to_string());
    }
    match found {
        [Some(js), Some(wasm), Some(css)] => Ok(Hashes { js, wasm, css }),
        _ => Err("it does not name the js, wasm and css hashes".into()),
    }
}

/// Where leptos looks for `hash.txt` when nothing else is said: beside the running binary.
pub fn default_hash_file() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join("hash.txt")
}

impl SiteFiles {
    /// The unhashed names.
    pub fn plain(output: &str, pkg: &str) -> SiteFiles {
        SiteFiles {
            js: format!("/{pkg}/{output}.js"),
            wasm: format!("/{pkg}/{output}.wasm"),
            css: format!("/{pkg}/{output}.css"),
            hashed: false,
        }
    }

    /// The names with the build's hashes.
    pub fn with_hashes(output: &str, pkg: &str, hashes: &Hashes) -> SiteFiles {
        SiteFiles {
            js: format!("/{pkg}/{output}.{}.js", hashes.js),
            wasm: format!("/{pkg}/{output}.{}.wasm", hashes.wasm),
            css: format!("/{pkg}/{output}.{}.css", hashes.css),
            hashed: true,
        }
    }

    /// The names of the site at `site_root` as built, checked against the files there. A
    /// `hash.txt` from another build than the site, or a hashed site without its
    /// `hash.txt`, would serve pages that never load their code: the server refuses to start,
    /// saying which file is missing.
    pub fn load(
        site_root: &Path,
        output: &str,
        pkg: &str,
        hash_file: &Path,
    ) -> Result<SiteFiles, String> {
        let pkg_dir = site_root.join(pkg);
        let files = match std::fs::read_to_string(hash_file) {
            // A build without hashing after one with: the hash file is the earlier build's.
            Ok(_) if pkg_dir.join(format!("{output}.wasm")).is_file() => {
                return Err(format!(
                    "{} is from an earlier build than the site in {}, whose files have plain names: build with scripts/run.sh (hashed names), or delete {}",
                    hash_file.display(),
                    pkg_dir.display(),
                    hash_file.display()
                ));
            }
            Ok(text) => {
                let hashes = parse_hashes(&text)
                    .map_err(|e| format!("cannot use {}: {e}", hash_file.display()))?;
                SiteFiles::with_hashes(output, pkg, &hashes)
            }
            // A plain wasm is a build without hashing, whatever else the directory holds.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if pkg_dir.join(format!("{output}.wasm")).is_file() {
                    return Ok(SiteFiles::plain(output, pkg));
                }
                let hashed_wasm = std::fs::read_dir(&pkg_dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .find(|name| {
                        name.starts_with(&format!("{output}.")) && name.ends_with(".wasm")
                    });
                match hashed_wasm {
                    Some(name) => {
                        return Err(format!(
                            "the bundle in {} has hashed names ({name}) but {} is missing: deploy the hash.txt of the same build beside the server binary, or set YIKATONG_HASH_FILE",
                            pkg_dir.display(),
                            hash_file.display()
                        ));
                    }
                    None => return Ok(SiteFiles::plain(output, pkg)),
                }
            }
            Err(e) => return Err(format!("cannot read {}: {e}", hash_file.display())),
        };
        for name in [&files.js, &files.wasm, &files.css] {
            let path = site_root.join(name.trim_start_matches('/'));
            if !path.is_file() {
                return Err(format!(
                    "{} names {name}, which is not in {}: the site and hash.txt come from different builds; deploy them together",
                    hash_file.display(),
                    pkg_dir.display()
                ));
            }
        }
        Ok(files)
    }

    /// Whether the browser may keep `path` for good: one of the bundle's hashed names.
    pub fn is_immutable(&self, path: &str) -> bool {
        self.hashed && (path == self.js || path == self.wasm || path == self.css)
    }

    /// A text of the site (the service worker, the offline page) with the plain names it was
    /// written with replaced by the build's own. The service worker's cache is named after the
    /// build too, so a new release starts a new cache and the old one is deleted.
    pub fn rewrite(&self, text: &str, output: &str, pkg: &str) -> String {
        if !self.hashed {
            return text.to_string();
        }
        let plain = SiteFiles::plain(output, pkg);
        // Any of the three files changed is a new build.
        let build: String = [&self.js, &self.wasm, &self.css]
            .iter()
            .map(|name| {
                let hash = name.rsplit('.').nth(1).unwrap_or_default();
                hash.chars().take(6).collect::<String>()
            })
            .collect();
        text.replace(&plain.js, &self.js)
            .replace(&plain.wasm, &self.wasm)
            .replace(&plain.css, &self.css)
            .replace("ykt-shell-v2", &format!("ykt-shell-{build}"))
    }
}

/// One of the site's texts as this build names its files, with a validator: a browser that
/// has it gets `304`.
#[derive(Clone)]
pub struct SiteText {
    body: String,
    content_type: &'static str,
    etag: HeaderValue,
}

impl SiteText {
    /// Reads `name` from the site root and rewrites it; `None` when the site has no such
    /// file (the plain file service answers, as for any other missing file).
    pub fn load(
        site_root: &Path,
        name: &str,
        content_type: &'static str,
        files: &SiteFiles,
        output: &str,
        pkg: &str,
    ) -> Option<SiteText> {
        let text = std::fs::read_to_string(site_root.join(name)).ok()?;
        let body = files.rewrite(&text, output, pkg);
        let digest = <sha2::Sha256 as sha2::Digest>::digest(body.as_bytes());
        // Weak: the same text goes out compressed or not.
        let etag = HeaderValue::from_str(&format!("W/\"{}\"", hex::encode(&digest[..12]))).ok()?;
        Some(SiteText {
            body,
            content_type,
            etag,
        })
    }

    pub fn respond(&self, request: &HeaderMap) -> Response {
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|tags| tags.to_str().ok())
            .is_some_and(|tags| none_match(tags, self.etag.to_str().unwrap_or_default()));
        let mut res = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            self.body.clone().into_response()
        };
        let headers = res.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        res
    }
}

/// Whether `If-None-Match: tags` names `etag`, compared weakly (RFC 9110 13.1.2): a list, `*`,
/// or a tag a proxy made weak all count.
fn none_match(tags: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    tags.trim() == "*" || tags.split(',').any(|tag| opaque(tag) == opaque(etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "JjjjjjjjjjjjjjjjjjjjjJ";
    const H2: &str = "Bb-_0123456789abcdefgh";
    const H3: &str = "zzzzzzzzzzzzzzzzzzzzzz";

    #[test]
    fn without_a_hash_file_a_plain_wasm_decides_whatever_else_the_site_holds() {
        // (files in pkg/, served plain or refused).
        let cases: [(&[&str], bool); 4] = [
            (&["yikatong.wasm"], true),
            (&["yikatong.wasm", &format!("yikatong.{H2}.wasm")], true),
            (&[&format!("yikatong.{H2}.wasm")], false),
            (&[], true),
        ];
        for (files, plain) in cases {
            let site = tempfile::tempdir().unwrap();
            std::fs::create_dir(site.path().join("pkg")).unwrap();
            for name in files {
                std::fs::write(site.path().join("pkg").join(name), b"\0asm").unwrap();
            }
            let loaded = SiteFiles::load(
                site.path(),
                "yikatong",
                "pkg",
                &site.path().join("hash.txt"),
            );
            match loaded {
                Ok(found) => {
                    assert!(plain, "{files:?}");
                    assert!(!found.hashed, "{files:?}");
                    assert_eq!(found.wasm, "/pkg/yikatong.wasm");
                }
                Err(e) => {
                    assert!(!plain, "{files:?}: {e}");
                    assert!(e.contains("hash.txt"), "{e}");
                }
            }
        }
    }

    #[test]
    fn hash_files_are_read_as_cargo_leptos_writes_them() {
        let good = format!("js: {H1}\nwasm: {H2}\ncss: {H3}\n");
        let cases: Vec<(String, Result<Hashes, &str>)> = vec![
            (
                good.clone(),
                Ok(Hashes {
                    js: H1.into(),
                    wasm: H2.into(),
                    css: H3.into(),
                }),
            ),
            // A split bundle's extra lines are not ours.
            (
                format!("{good}manifest: {H1}\nsplit: {H2}\n"),
                Ok(Hashes {
                    js: H1.into(),
                    wasm: H2.into(),
                    css: H3.into(),
                }),
            ),
            (format!("js: {H1}\nwasm: {H2}\n"), Err("does not name")),
            (String::new(), Err("does not name")),
            (
                format!("js: ../../etc\nwasm: {H2}\ncss: {H3}\n"),
                Err("js hash"),
            ),
            (
                format!("js: {H1}\nwasm: {H2}x\ncss: {H3}\n"),
                Err("wasm hash"),
            ),
        ];
        for (text, want) in cases {
            match (parse_hashes(&text), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text:?}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{text:?}: {got}"),
                (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_validator_matches_weakly_in_a_list() {
        let etag = "W/\"abc\"";
        let cases = [
            ("W/\"abc\"", true),
            ("\"abc\"", true),
            ("\"x\", W/\"abc\"", true),
            ("*", true),
            ("\"abd\"", false),
            ("", false),
        ];
        for (tags, want) in cases {
            assert_eq!(none_match(tags, etag), want, "{tags}");
        }
    }

    #[test]
    fn only_hashed_names_are_kept_for_good() {
        let hashes = Hashes {
            js: H1.into(),
            wasm: H2.into(),
            css: H3.into(),
        };
        let hashed = SiteFiles::with_hashes("yikatong", "pkg", &hashes);
        let plain = SiteFiles::plain("yikatong", "pkg");
        let cases = [
            (&hashed, format!("/pkg/yikatong.{H2}.wasm"), true),
            (&hashed, format!("/pkg/yikatong.{H1}.js"), true),
            (&hashed, format!("/pkg/yikatong.{H3}.css"), true),
            (&hashed, "/pkg/yikatong.wasm".to_string(), false),
            (&hashed, "/sw.js".to_string(), false),
            (&hashed, "/icons/icon-192.png".to_string(), false),
            (&plain, "/pkg/yikatong.wasm".to_string(), false),
        ];
        for (files, path, want) in cases {
            assert_eq!(files.is_immutable(&path), want, "{path}");
        }
    }

    #[test]
    fn the_service_worker_names_the_build_it_is_served_with() {
        let sw = "const CACHE = \"ykt-shell-v2\";\nconst SHELL = [\"/pkg/yikatong.js\", \"/pkg/yikatong.wasm\", \"/pkg/yikatong.css\"];";
        let hashes = Hashes {
            js: H1.into(),
            wasm: H2.into(),
            css: H3.into(),
        };
        let hashed = SiteFiles::with_hashes("yikatong", "pkg", &hashes);
        assert_eq!(
            hashed.rewrite(sw, "yikatong", "pkg"),
            format!(
                "const CACHE = \"ykt-shell-JjjjjjBb-_01zzzzzz\";\nconst SHELL = [\"/pkg/yikatong.{H1}.js\", \"/pkg/yikatong.{H2}.wasm\", \"/pkg/yikatong.{H3}.css\"];"
            )
        );
        assert_eq!(
            SiteFiles::plain("yikatong", "pkg").rewrite(sw, "yikatong", "pkg"),
            sw
        );
    }
}
