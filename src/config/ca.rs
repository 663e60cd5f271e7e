//! Owns `ca_file`: the PEM file of the CAs an https check trusts instead of
//! the built-in roots. Read and parsed at load, once per file however many
//! checks name it, so a bad file is a config error at its line and probes
//! share one root set (and one TLS client, built from it in `health`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::{ConfigError, Source};

/// A `ca_file`: the PEM file of the CAs an https check trusts instead of
/// the built-in roots, parsed once per load and shared by every check
/// naming it.
#[derive(Clone)]
pub struct CaFile {
    /// The file, relative paths resolved against the config's folder.
    pub path: PathBuf,
    /// Its certificates, as trust anchors.
    pub roots: std::sync::Arc<rustls::RootCertStore>,
}

impl fmt::Debug for CaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CaFile({}, {} roots)",
            self.path.display(),
            self.roots.len()
        )
    }
}

/// Why a `ca_file` cannot be used.
#[derive(thiserror::Error, Debug)]
pub enum CaFileError {
    /// Missing or unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM section that does not decode.
    #[error("{} is not a PEM file: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rustls::pki_types::pem::Error,
    },
    /// No `-----BEGIN CERTIFICATE-----` section.
    #[error("{} holds no certificate (PEM \"-----BEGIN CERTIFICATE-----\" sections)", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A certificate that cannot be a trust anchor.
    #[error("{}: certificate {index} cannot be used as a CA: {source}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// 1-based position of the certificate in the file.
        index: usize,
        /// rustls's reason.
        source: rustls::Error,
    },
}

impl CaFile {
    /// Reads every certificate in the PEM file at `path` (other sections,
    /// such as a key, are skipped).
    pub fn read(path: &Path) -> Result<CaFile, CaFileError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        let bytes = std::fs::read(path).map_err(|source| CaFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut roots = rustls::RootCertStore::empty();
        for (i, cert) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
            let cert = cert.map_err(|source| CaFileError::Pem {
                path: path.to_path_buf(),
                source,
            })?;
            roots.add(cert).map_err(|source| CaFileError::Unusable {
                path: path.to_path_buf(),
                index: i + 1,
                source,
            })?;
        }
        if roots.is_empty() {
            return Err(CaFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(CaFile {
            path: path.to_path_buf(),
            roots: std::sync::Arc::new(roots),
        })
    }
}

/// The `ca_file`s of one config, each read and parsed once however many
/// checks name it, so they share one set of roots (and one TLS client).
#[derive(Default)]
pub(super) struct CaFiles {
    loaded: HashMap<PathBuf, CaFile>,
}

impl CaFiles {
    /// The roots in `file` (relative to the config's folder); an error at
    /// its line when it cannot be read or holds no usable certificate.
    pub(super) fn load(
        &mut self,
        src: &Source,
        file: Option<&Spanned<String>>,
    ) -> Result<Option<CaFile>, ConfigError> {
        let Some(file) = file else {
            return Ok(None);
        };
        let path = src
            .path
            .parent()
            .unwrap_or(Path::new("."))
            .join(file.get_ref());
        if let Some(ca) = self.loaded.get(&path) {
            return Ok(Some(ca.clone()));
        }
        let ca =
            CaFile::read(&path).map_err(|e| src.err(file.span().start, format!("ca_file: {e}")))?;
        self.loaded.insert(path, ca.clone());
        Ok(Some(ca))
    }
}
