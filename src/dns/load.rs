//! Owns turning a config path into one consistent, validated bundle of
//! config, zones, resolved checks and the answer table those allow; used at
//! start-up, by `hale check` and on reload, so all three accept and reject
//! exactly the same inputs. Snapshots are built from it
//! ([`super::Snapshot::build`]).

use std::path::Path;
use std::sync::Arc;

use tokio::time::Instant;

use super::table::Table;
use crate::config::{Config, ConfigError};
use crate::health::Checks;
use crate::zones::{ZoneError, ZoneSet};

/// Everything one config describes, checked.
#[derive(Debug)]
pub struct Loaded {
    /// The validated config.
    pub config: Config,
    /// Its zones.
    pub zones: Arc<ZoneSet>,
    /// Its checks, resolved against the zones.
    pub checks: Checks,
    /// Precomputed answers for the fast path.
    pub table: Arc<Table>,
}

/// Why a config and its zones could not be loaded.
#[derive(thiserror::Error, Debug)]
pub enum LoadError {
    /// The config file is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A zone file is wrong.
    #[error(transparent)]
    Zone(#[from] ZoneError),
}

impl Loaded {
    /// Reads the config at `path`, its zones, and resolves its checks.
    pub fn load(path: &Path) -> Result<Loaded, LoadError> {
        Loaded::load_reusing(path, None)
    }

    /// [`Loaded::load`] for a reload while `previous` serves: zones share
    /// with it what their files did not change ([`ZoneSet::load_reusing`]).
    pub fn load_reusing(path: &Path, previous: Option<&Loaded>) -> Result<Loaded, LoadError> {
        fixed_mmap_threshold();
        let started = Instant::now();
        let config = Config::load(path)?;
        let zones = ZoneSet::load_reusing(&config.zone_files, previous.map(|p| &*p.zones));
        let zones = Arc::new(zones?);
        let parsed = started.elapsed();
        let checks = Checks::resolve(&config, &zones)?;
        let table = Arc::new(Table::build(&zones, &checks, config.transfers()));
        let t = Instant::now();
        release_free_memory();
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "memory released");
        tracing::info!(
            zones = zones.len(),
            names = table.len(),
            zones_ms = parsed.as_millis() as u64,
            table_ms = (started.elapsed() - parsed).as_millis() as u64,
            "zones loaded"
        );
        Ok(Loaded {
            config,
            zones,
            checks,
            table,
        })
    }
}

/// Hands the parser's freed scratch memory back to the system: for a
/// million-record zone the parse needs several times what the result keeps,
/// and glibc would otherwise hold on to it for the life of the process.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Blocks of 1 MiB and more get their own mapping, given back when freed.
/// glibc otherwise raises that threshold (to 32 MiB) as big blocks are
/// freed, and the loading threads' batches then come from their arenas,
/// whose free tops `malloc_trim` leaves resident: 50 MB after a
/// million-record load.
fn fixed_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; any value is valid.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
