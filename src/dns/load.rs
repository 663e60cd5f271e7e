//! Owns turning a config path into one consistent, validated bundle of
//! config, zones, resolved checks and the answer table those allow; used at
//! start-up, by `hale check` and on reload, so all three accept and reject
//! exactly the same inputs. Snapshots are built from it
//! ([`super::Snapshot::build`]).

use std::path::Path;
use std::sync::Arc;

use tokio::time::Instant;

use super::cookie::Secrets as CookieSecrets;
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
    /// The TSIG keys, ready to sign and verify.
    pub keys: Arc<super::tsig::Keys>,
    /// The DNS Cookie secrets; `None` when cookies are off.
    pub cookies: Option<Arc<CookieSecrets>>,
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
        Loaded::load_after(path, None)
    }

    /// [`Loaded::load`] for a reload of `previous`: the zones of files that
    /// did not change are taken from it, and so is its answer table when
    /// every zone was and the checks and transfers are as they were. A
    /// reload of unchanged files then costs no second copy of them, and one
    /// of changed files shares the names they did not change
    /// ([`ZoneSet::load_reusing`]).
    pub fn load_after(path: &Path, previous: Option<&Loaded>) -> Result<Loaded, LoadError> {
        fixed_mmap_threshold();
        let started = Instant::now();
        let config = Config::load(path)?;
        let zones = ZoneSet::load_reusing(&config.zone_files, previous.map(|p| &*p.zones))?;
        let zones = Arc::new(zones);
        let parsed = started.elapsed();
        let checks = Checks::resolve(&config, &zones)?;
        let table = match previous {
            Some(p) if same_table(p, &config, &zones, &checks) => p.table.clone(),
            // A reload builds the table in one run: runs on several cores
            // are joined by copying every run's records after the first
            // into it, and while the table served is still held that copy
            // was the peak of a reload (issue #13: 1.51 × steady on two
            // cores, 1.48 on one). A reload has time; start-up goes wide.
            Some(_) => Arc::new(Table::build_in_runs(&zones, &checks, config.transfers(), 1)),
            None => Arc::new(Table::build(&zones, &checks, config.transfers())),
        };
        let t = Instant::now();
        release_free_memory();
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "memory released");
        tracing::info!(
            zones = zones.len(),
            unchanged = zones.reused(),
            names = table.len(),
            zones_ms = parsed.as_millis() as u64,
            table_ms = (started.elapsed() - parsed).as_millis() as u64,
            "zones loaded"
        );
        let keys = Arc::new(super::tsig::Keys::new(&config.keys));
        let cookies = CookieSecrets::for_config(&config, previous.and_then(|p| p.cookies.as_ref()));
        Ok(Loaded {
            config,
            zones,
            checks,
            table,
            keys,
            cookies,
        })
    }
}

/// Whether `previous`'s answer table is the one `zones` and `checks` would
/// build: the same zones (taken over unchanged), the same checks (compared
/// whole, as printed: any change rebuilds) and the same transfer setting.
fn same_table(previous: &Loaded, config: &Config, zones: &ZoneSet, checks: &Checks) -> bool {
    zones.same_zones(&previous.zones)
        && config.transfers() == previous.config.transfers()
        && format!("{:?}", checks.names()) == format!("{:?}", previous.checks.names())
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

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "$TTL 300\n@ SOA ns1 h 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\n\
                        www A 192.0.2.2\n";

    fn www(loaded: &Loaded) -> Vec<String> {
        let zone = loaded.zones.iter().next().expect("a zone");
        let name = hickory_proto::rr::Name::from_ascii("www.example.com.").expect("name");
        let node = zone.node(&name).expect("www");
        let set = node.get(hickory_proto::rr::RecordType::A).expect("A");
        set.iter()
            .filter_map(|r| r.ip())
            .map(|ip| ip.to_string())
            .collect()
    }

    /// A reload takes over the zones of unchanged files and, when nothing
    /// else it depends on changed, the answer table; a changed file, a
    /// changed check or a file with an `$INCLUDE` is read and built again.
    #[test]
    fn a_reload_keeps_what_did_not_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zone = dir.path().join("example.com.zone");
        std::fs::write(&zone, ZONE).expect("zone");
        let config = dir.path().join("hale.toml");
        let plain = "[server]\nlisten = [\"127.0.0.1:0\"]\nzones = \"example.com.zone\"\n";
        std::fs::write(&config, plain).expect("config");

        let first = Loaded::load(&config).expect("loads");
        assert_eq!(first.zones.reused(), 0);
        let same = Loaded::load_after(&config, Some(&first)).expect("reloads");
        assert_eq!(same.zones.reused(), 1);
        assert!(same.zones.same_zones(&first.zones));
        assert!(Arc::ptr_eq(&same.table, &first.table));

        // A check now: the zone stays, the table is built again.
        let checked = format!("{plain}[[check]]\nnames = [\"www.example.com.\"]\nport = 18080\n");
        std::fs::write(&config, checked).expect("config");
        let with_check = Loaded::load_after(&config, Some(&same)).expect("reloads");
        assert!(with_check.zones.same_zones(&same.zones));
        assert!(!Arc::ptr_eq(&with_check.table, &same.table));
        std::fs::write(&config, plain).expect("config");

        // The file changed: read again.
        std::fs::write(&zone, ZONE.replace("192.0.2.2", "192.0.2.3")).expect("zone");
        let changed = Loaded::load_after(&config, Some(&with_check)).expect("reloads");
        assert_eq!(changed.zones.reused(), 0);
        assert!(!Arc::ptr_eq(&changed.table, &with_check.table));
        assert_eq!(www(&changed), ["192.0.2.3"]);

        // An `$INCLUDE`d file may change under an unchanged zone file.
        let include = dir.path().join("www.inc");
        std::fs::write(&include, "www A 192.0.2.4\n").expect("include");
        let top = ZONE.replace("www A 192.0.2.2\n", "$INCLUDE www.inc\n");
        std::fs::write(&zone, top).expect("zone");
        let included = Loaded::load_after(&config, Some(&changed)).expect("reloads");
        assert_eq!(www(&included), ["192.0.2.4"]);
        std::fs::write(&include, "www A 192.0.2.5\n").expect("include");
        let again = Loaded::load_after(&config, Some(&included)).expect("reloads");
        assert_eq!(again.zones.reused(), 0);
        assert_eq!(www(&again), ["192.0.2.5"]);
    }
}
