//! Owns the state file (`[state] file`): the targets' verdicts and the
//! operator's overrides, so a restart neither serves a dead backend until
//! its probes catch up nor forgets a drain. Written whole to a temporary
//! file beside it, synced, then renamed over it: a crash leaves the old
//! file or the new one, never half of one. A file that cannot be read or
//! parsed is reported and ignored whole.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Override, TargetKey};

/// The format this hale writes and reads.
const VERSION: u32 = 1;

/// What the state file holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Saved {
    /// The format's version.
    pub version: u32,
    /// When it was written.
    #[serde(with = "humantime_serde")]
    pub saved_at: SystemTime,
    /// Every target with a verdict.
    pub verdicts: Vec<SavedVerdict>,
    /// Every override in force.
    pub overrides: Vec<Override>,
    /// When addresses out of the answers left them, so that a drain in
    /// progress still shows when it completes after a restart.
    #[serde(default)]
    pub departures: Vec<SavedDeparture>,
}

/// When an address left a name's answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedDeparture {
    /// The checked name.
    pub name: String,
    /// The address.
    pub address: IpAddr,
    /// When the first answer without it was published.
    #[serde(with = "humantime_serde")]
    pub at: SystemTime,
}

/// One target's verdict.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedVerdict {
    /// The target.
    pub target: TargetKey,
    /// Up or down.
    pub up: bool,
    /// Since when.
    #[serde(with = "humantime_serde")]
    pub since: SystemTime,
    /// When the result that confirmed it came: its age decides whether a
    /// start may trust it.
    #[serde(with = "humantime_serde")]
    pub at: SystemTime,
}

/// Why the state file could not be read or written.
#[derive(thiserror::Error, Debug)]
pub enum StateError {
    /// Reading failed.
    #[error("cannot read state file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a state file.
    #[error("state file {} is not valid: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// Written by a hale with another format.
    #[error("state file {} has format version {found}; this hale reads {VERSION}", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// Writing failed (the old file, if any, is intact).
    #[error("cannot write state file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Saved {
    /// A state file of these verdicts and overrides, written now.
    pub fn new(
        verdicts: Vec<SavedVerdict>,
        overrides: Vec<Override>,
        departures: Vec<SavedDeparture>,
    ) -> Saved {
        Saved {
            version: VERSION,
            saved_at: SystemTime::now(),
            verdicts,
            overrides,
            departures,
        }
    }

    /// The state file at `path`; `None` when there is none yet.
    pub fn read(path: &Path) -> Result<Option<Saved>, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let saved: Saved = serde_json::from_str(&text).map_err(|source| StateError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        if saved.version != VERSION {
            return Err(StateError::Version {
                path: path.to_path_buf(),
                found: saved.version,
            });
        }
        Ok(Some(saved))
    }

    /// Writes it to `path` atomically: a temporary file in the same folder,
    /// synced, renamed over `path`, and the folder synced.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        let fail = |source| StateError::Write {
            path: path.to_path_buf(),
            source,
        };
        let text = serde_json::to_vec_pretty(self).map_err(|e| fail(e.into()))?;
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        // A fresh name each time, never an existing file (or a link
        // someone left there): two writers never share one.
        let tmp = folder.join(format!(
            ".{}.{}.{:016x}.tmp",
            name.as_deref().unwrap_or("state"),
            std::process::id(),
            rand::random::<u64>()
        ));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)?;
            // The rename itself is durable once the folder is synced.
            std::fs::File::open(folder)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(fail)
    }
}
