//! Owns secret files: the DNS Cookie server secret (`[server]
//! cookie_secret_file`), read and judged line by line, and whether a file
//! holding a secret is readable by others than hale's user (what `hale
//! check` warns about; TSIG key files take the same test). A secret never
//! appears in `Debug` output, logs or error messages: errors name the file
//! and line, never what is written there.

use std::fmt;
use std::path::{Path, PathBuf};

use super::file::RawServer;
use super::{ConfigError, Source};

/// Whether the file at `path` may be read by a user other than its owner
/// (group or other read permission). A file that cannot be examined is
/// reported as not readable: reading it fails anyway, with its own error.
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// The bytes of one SipHash-2-4 key (RFC 9018 §4.4: 128 bits).
pub const COOKIE_SECRET_LEN: usize = 16;

/// What every bad secret line is told to hold instead.
const WRITE_INSTEAD: &str = "write 32 hex digits (a 128-bit secret), one per line, for example \
                             the output of `openssl rand -hex 16`";

/// The DNS Cookie server secrets of a `cookie_secret_file`: the first signs
/// new server cookies, every one verifies (so a rotation puts the new
/// secret first and keeps the old one below it for an hour). Its `Debug`
/// never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieSecrets {
    /// The file they were read from.
    pub path: PathBuf,
    keys: Vec<[u8; COOKIE_SECRET_LEN]>,
}

impl fmt::Debug for CookieSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CookieSecrets({}, {} secret(s))",
            self.path.display(),
            self.keys.len()
        )
    }
}

/// Why a cookie secret file could not be used.
#[derive(thiserror::Error, Debug)]
pub enum SecretError {
    /// Unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line that is no secret (its content is never repeated).
    #[error("{}:{line}: not a cookie secret: {WRITE_INSTEAD}", path.display())]
    Bad {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// No secret at all.
    #[error("{} holds no secret: {WRITE_INSTEAD}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl CookieSecrets {
    /// The secrets in `path`: one per line, 32 hex digits each; blank
    /// lines and lines starting with `#` are skipped.
    pub fn read(path: &Path) -> Result<CookieSecrets, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        CookieSecrets::parse(path, &text)
    }

    /// [`CookieSecrets::read`] of `text`, as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<CookieSecrets, SecretError> {
        let mut keys = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = hex_key(line).ok_or_else(|| SecretError::Bad {
                path: path.to_path_buf(),
                line: i + 1,
            })?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(SecretError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(CookieSecrets {
            path: path.to_path_buf(),
            keys,
        })
    }

    /// The secrets, the signing one first.
    pub fn keys(&self) -> &[[u8; COOKIE_SECRET_LEN]] {
        &self.keys
    }
}

/// 32 hex digits as 16 bytes.
fn hex_key(text: &str) -> Option<[u8; COOKIE_SECRET_LEN]> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * COOKIE_SECRET_LEN {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut key = [0u8; COOKIE_SECRET_LEN];
    for (k, pair) in key.iter_mut().zip(bytes.chunks_exact(2)) {
        *k = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(key)
}

/// `[server] cookies` (on unless set false) and `cookie_secret_file`
/// (relative to the config's folder; read now, so a bad file is rejected
/// at start, by `hale check` and on reload like any config error).
pub(super) fn cookies(
    src: &Source,
    server: &RawServer,
) -> Result<(bool, Option<CookieSecrets>), ConfigError> {
    let enabled = server.cookies.unwrap_or(true);
    let Some(file) = &server.cookie_secret_file else {
        return Ok((enabled, None));
    };
    if file.get_ref().is_empty() {
        return Err(src.err(
            file.span().start,
            "[server] cookie_secret_file is empty: write a path such as \"/etc/hale/cookie.secret\""
                .into(),
        ));
    }
    let path = src
        .path
        .parent()
        .unwrap_or(Path::new("."))
        .join(file.get_ref());
    let secrets = CookieSecrets::read(&path).map_err(|e| {
        src.err(
            file.span().start,
            format!("[server] cookie_secret_file: {e}"),
        )
    })?;
    Ok((enabled, Some(secrets)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_9018: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

    #[test]
    fn secrets_are_read_line_by_line() {
        let path = Path::new("/etc/hale/cookie.secret");
        let text = format!("# new\n{RFC_9018}\n\n  {}  \n", RFC_9018.to_uppercase());
        let s = CookieSecrets::parse(path, &text).expect("parses");
        assert_eq!(s.keys().len(), 2);
        assert_eq!(s.keys()[0][..2], [0xe5, 0xe9]);
        assert_eq!(s.keys()[0], s.keys()[1]);
        assert!(!format!("{s:?}").contains("e5e9"), "Debug hides the secret");

        let bad = CookieSecrets::parse(path, &format!("{RFC_9018}\n{}x\n", &RFC_9018[1..]));
        let msg = bad.expect_err("rejected").to_string();
        assert!(msg.starts_with("/etc/hale/cookie.secret:2: "), "{msg}");
        assert!(msg.contains("32 hex digits"), "{msg}");
        assert!(
            !msg.contains(&RFC_9018[1..]),
            "the line is not repeated: {msg}"
        );
        let short = CookieSecrets::parse(path, &RFC_9018[2..]).expect_err("short");
        assert!(short.to_string().contains(":1: "));
        let empty = CookieSecrets::parse(path, "# nothing\n").expect_err("empty");
        assert!(empty.to_string().contains("holds no secret"));
    }

    #[cfg(unix)]
    #[test]
    fn modes_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        std::fs::write(&path, RFC_9018).expect("write");
        for (mode, others) in [(0o600, false), (0o400, false), (0o640, true), (0o604, true)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            assert_eq!(readable_by_others(&path), others, "{mode:o}");
        }
        assert!(!readable_by_others(&dir.path().join("missing")));
    }
}
