//! Owns turning a config path into one consistent, validated bundle of
//! config, zones and resolved checks; used at start-up, by `hale check` and on
//! reload, so all three accept and reject exactly the same inputs.

use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::view::Checks;
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
        let config = Config::load(path)?;
        let zones = Arc::new(ZoneSet::load(&config.zone_files)?);
        let checks = Checks::resolve(&config, &zones)?;
        Ok(Loaded {
            config,
            zones,
            checks,
        })
    }
}
