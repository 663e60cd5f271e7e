//! Owns `hale ctl`: the operator's commands (status, drain, force-up,
//! clear, explain, reload), sent to a running hale's admin listener and
//! printed for people. Exit codes: 0 done, 1 hale cannot be reached, 2
//! refused (unknown address or name, unsafe drain, bad token, bad config).

mod http;
mod print;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use hyper::Method;
use serde_json::{Value, json};

use crate::config::{AdminToken, Config, ConfigError, TokenError};

/// Where and how to reach hale.
#[derive(Debug)]
pub struct Admin {
    /// The admin listener.
    pub addr: SocketAddr,
    /// The bearer token, when hale wants one.
    pub token: Option<AdminToken>,
}

/// One command.
#[derive(Debug)]
pub enum Command {
    /// Every checked name, each address and where it stands.
    Status,
    /// An override: drain or force-up.
    Set {
        /// Drain or force-up.
        kind: crate::health::OverrideKind,
        /// The address.
        address: IpAddr,
        /// Only this name.
        name: Option<String>,
        /// How long (humantime).
        duration: Option<String>,
        /// Why.
        reason: Option<String>,
        /// Drain even if it empties an answer.
        force: bool,
    },
    /// Remove overrides.
    Clear {
        /// The address.
        address: IpAddr,
        /// Only this name's.
        name: Option<String>,
    },
    /// Reload config and zones.
    Reload,
    /// Why each address of a checked name is in or out of its answer.
    Explain {
        /// The checked name.
        name: String,
        /// A or AAAA (both when `None`).
        rtype: Option<String>,
        /// Also show the answer this address going down would give.
        if_down: Option<IpAddr>,
    },
}

/// Why a command did not succeed.
#[derive(thiserror::Error, Debug)]
pub enum CtlError {
    /// No answer from the admin listener.
    #[error("cannot reach hale's admin listener at {addr}: {why}")]
    Unreachable {
        /// Where.
        addr: SocketAddr,
        /// Why.
        why: String,
    },
    /// hale said no.
    #[error("{0}")]
    Refused(String),
    /// The config names no admin listener, or is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `--token-file` cannot be used.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Neither `--admin` nor the config says where hale listens.
    #[error("{}: no [admin] section: add one (listen = \"127.0.0.1:8053\") or pass --admin HOST:PORT", .0.display())]
    NoAdmin(PathBuf),
}

impl CtlError {
    /// The exit code it ends `ctl` with.
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Unreachable { .. } => 1,
            _ => 2,
        }
    }
}

/// `[admin] listen` and the token of `token_file` read leniently from the
/// config at `path`, for a config that does not validate as a whole;
/// `None` when even that section cannot be read.
fn admin_section(path: &Path) -> Option<(Option<SocketAddr>, Option<AdminToken>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    let Some(admin) = value.get("admin") else {
        return Some((None, None));
    };
    let listen = admin.get("listen")?.as_str()?.trim().parse().ok()?;
    let token = match admin.get("token_file").and_then(|t| t.as_str()) {
        Some(file) => {
            let file = path.parent().unwrap_or(Path::new("")).join(file);
            Some(AdminToken::read(&file).ok()?)
        }
        None => None,
    };
    Some((Some(listen), token))
}

impl Admin {
    /// The admin listener of the config at `config` unless `admin` names
    /// one, with the token of `token_file` or else the config's.
    pub fn find(
        config: &Path,
        admin: Option<SocketAddr>,
        token_file: Option<&Path>,
    ) -> Result<Admin, CtlError> {
        let token = token_file.map(AdminToken::read).transpose()?;
        // The running hale listens where its start's config said, whatever
        // the file says now: a file that no longer validates (the very
        // moment an operator needs ctl, or reloads to learn why) still
        // gives its [admin] section.
        let (listen, config_token) = match Config::load(config) {
            Ok(c) => (c.admin, c.admin_token.clone()),
            Err(e) => match admin_section(config) {
                Some(section) => section,
                None if admin.is_some() => (None, None),
                None => return Err(CtlError::Config(e)),
            },
        };
        let addr = match (admin, listen) {
            (Some(addr), _) | (None, Some(addr)) => addr,
            (None, None) => return Err(CtlError::NoAdmin(config.to_path_buf())),
        };
        Ok(Admin {
            addr,
            token: token.or(config_token),
        })
    }

    /// Runs `command`, printing what people need to `out`.
    pub fn run(&self, command: Command, out: &mut dyn Write) -> Result<(), CtlError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CtlError::Unreachable {
                addr: self.addr,
                why: format!("cannot start a runtime: {e}"),
            })?;
        runtime.block_on(self.run_async(command, out))
    }

    async fn run_async(&self, command: Command, out: &mut dyn Write) -> Result<(), CtlError> {
        let token = self.token.as_ref().map(AdminToken::secret);
        match command {
            Command::Status => {
                let status = self.json(Method::GET, "/status", None).await?;
                print::status(&status, out);
            }
            Command::Set {
                kind,
                address,
                name,
                duration,
                reason,
                force,
            } => {
                let body = json!({
                    "address": address.to_string(),
                    "name": name,
                    "kind": kind,
                    "for": duration,
                    "reason": reason,
                    "force": force,
                });
                let reply = self
                    .json(Method::POST, "/api/overrides", Some(body))
                    .await?;
                print::override_set(&reply, out);
            }
            Command::Clear { address, name } => {
                let mut path = format!("/api/overrides?address={}", encode(&address.to_string()));
                if let Some(name) = &name {
                    path.push_str(&format!("&name={}", encode(name)));
                }
                let reply = self.json(Method::DELETE, &path, None).await?;
                print::cleared(&reply, out);
            }
            Command::Explain {
                name,
                rtype,
                if_down,
            } => {
                let mut path = format!("/api/explain?name={}", encode(&name));
                if let Some(rtype) = &rtype {
                    path.push_str(&format!("&type={}", encode(rtype)));
                }
                if let Some(ip) = if_down {
                    path.push_str(&format!("&if_down={}", encode(&ip.to_string())));
                }
                let reply = self.json(Method::GET, &path, None).await?;
                print::explain(&reply, out);
            }
            Command::Reload => {
                let (code, body) =
                    http::exchange(self.addr, Method::POST, "/reload", token, None).await?;
                match code {
                    200 => print::line(out, body.trim_end()),
                    401 => return Err(self.unauthorized()),
                    _ => return Err(CtlError::Refused(body.trim_end().to_string())),
                }
            }
        }
        Ok(())
    }

    /// One request whose reply is JSON; a 4xx reply's `error` is the refusal.
    async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CtlError> {
        let token = self.token.as_ref().map(AdminToken::secret);
        let body = body.map(|b| b.to_string());
        let (code, text) = http::exchange(self.addr, method, path, token, body).await?;
        if code == 401 {
            return Err(self.unauthorized());
        }
        let value: Value = serde_json::from_str(&text).map_err(|_| {
            CtlError::Refused(format!("unexpected reply ({code}): {}", text.trim_end()))
        })?;
        match code {
            200..=299 => Ok(value),
            _ => Err(CtlError::Refused(
                value["error"]
                    .as_str()
                    .map_or_else(|| text.trim_end().to_string(), str::to_string),
            )),
        }
    }
}

impl Admin {
    /// hale said 401: the token sent was wrong, or none was.
    fn unauthorized(&self) -> CtlError {
        CtlError::Refused(match self.token {
            Some(_) => "hale refused the token: pass the secret of hale's [admin] token_file (--token-file PATH, or the config's token_file)".into(),
            None => "hale wants a token: pass --token-file PATH (the file holding hale's [admin] token_file secret), or use the config that has it".into(),
        })
    }
}

/// Percent-encodes a query value (addresses and names need little).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
