//! Owns what secondaries get and how they prove who they are: `[[key]]`
//! (TSIG keys, RFC 8945: a name, an HMAC algorithm and a secret, written
//! inline or read from a file in the format `tsig-keygen` or `keymgr -t`
//! writes) and `[transfer]` (who may transfer zones, who is told by NOTIFY,
//! each entry with the key it must sign with, if any).
//!
//! A secret never leaves this module in text: [`Secret`]'s `Debug` hides
//! it, and no error quotes a secret or the file it came from.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use hickory_proto::rr::Name;
use ipnet::IpNet;
use toml::{Spanned, Value};

use super::file::{RawKey, bracketed};
use super::{ConfigError, Source};

/// The HMACs hale signs and verifies with (RFC 8945 §6: the SHA-2 ones;
/// MD5 and SHA-1 are refused, as Knot refuses MD5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsigAlgorithm {
    /// `hmac-sha256`.
    HmacSha256,
    /// `hmac-sha384`.
    HmacSha384,
    /// `hmac-sha512`.
    HmacSha512,
}

impl TsigAlgorithm {
    /// The algorithm called `text` (as written in configs and on the wire).
    pub fn from_name(text: &str) -> Option<TsigAlgorithm> {
        match text.trim_end_matches('.').to_ascii_lowercase().as_str() {
            "hmac-sha256" => Some(TsigAlgorithm::HmacSha256),
            "hmac-sha384" => Some(TsigAlgorithm::HmacSha384),
            "hmac-sha512" => Some(TsigAlgorithm::HmacSha512),
            _ => None,
        }
    }

    /// Its name without the final dot.
    pub fn name(self) -> &'static str {
        match self {
            TsigAlgorithm::HmacSha256 => "hmac-sha256",
            TsigAlgorithm::HmacSha384 => "hmac-sha384",
            TsigAlgorithm::HmacSha512 => "hmac-sha512",
        }
    }
}

/// A TSIG secret. Its `Debug` shows its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The key bytes, for the HMAC.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// A `[[key]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigKey {
    /// Its name, lowercase, fully qualified: the owner of the TSIG record.
    pub name: Name,
    /// Its HMAC.
    pub algorithm: TsigAlgorithm,
    /// Its secret.
    pub secret: Secret,
    /// The file the secret was read from, if any (for `check`'s warning
    /// about who can read it).
    pub file: Option<PathBuf>,
}

/// An `[transfer] allow` entry: clients in `net` may transfer zones,
/// signing with `key` when it names one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferAllow {
    /// The clients.
    pub net: IpNet,
    /// The key their requests must be signed with.
    pub key: Option<Name>,
}

/// An `[transfer] notify` entry: a secondary told of serial changes, by
/// NOTIFYs signed with `key` when it names one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyTarget {
    /// The secondary.
    pub to: SocketAddr,
    /// The key the NOTIFYs are signed with.
    pub key: Option<Name>,
}

/// `[[key]]`: each with a unique name, a known algorithm and exactly one
/// of `secret` and `secret_file`.
pub(super) fn keys(src: &Source, raw: &[Spanned<RawKey>]) -> Result<Vec<TsigKey>, ConfigError> {
    let mut keys: Vec<TsigKey> = Vec::new();
    for entry in raw {
        let at = entry.span().start;
        let key = entry.get_ref();
        let name = key_name(key.name.get_ref()).ok_or_else(|| {
            src.err(
                key.name.span().start,
                format!(
                    "[[key]] name {:?} is not a domain name: write one such as \"xfr.example.com.\"",
                    key.name.get_ref()
                ),
            )
        })?;
        if keys.iter().any(|k| k.name == name) {
            return Err(src.err(
                key.name.span().start,
                format!("[[key]] {name} is defined twice: give each key its own name"),
            ));
        }
        let algorithm = match &key.algorithm {
            Some(text) => Some(TsigAlgorithm::from_name(text.get_ref()).ok_or_else(|| {
                src.err(
                    text.span().start,
                    format!(
                        "[[key]] {name}: algorithm {:?} is not supported: write \"hmac-sha256\", \"hmac-sha384\" or \"hmac-sha512\"",
                        text.get_ref()
                    ),
                )
            })?),
            None => None,
        };
        let (secret, file_algorithm, file) = match (&key.secret, &key.secret_file) {
            (Some(text), None) => {
                let secret = text.get_ref().as_str().and_then(decode).ok_or_else(|| {
                    src.err(
                        text.span().start,
                        format!("[[key]] {name}: secret is not base64 (write what tsig-keygen prints after `secret`)"),
                    )
                })?;
                (secret, None, None)
            }
            (None, Some(path)) => {
                let file = src
                    .path
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join(path.get_ref());
                let (secret, file_name, file_algorithm) = read_key_file(&file).map_err(|why| {
                    src.err(
                        path.span().start,
                        format!("[[key]] {name}: secret_file {}: {why}", file.display()),
                    )
                })?;
                if let Some(file_name) = file_name
                    && key_name(&file_name).is_some_and(|n| n != name)
                {
                    return Err(src.err(
                        path.span().start,
                        format!(
                            "[[key]] {name}: secret_file {} holds the key {file_name:?}: \
                             write name = {file_name:?}, or the secret of {name} in the file",
                            file.display()
                        ),
                    ));
                }
                (secret, file_algorithm, Some(file))
            }
            (Some(secret), Some(_)) => {
                return Err(src.err(
                    secret.span().start,
                    format!("[[key]] {name}: write either secret or secret_file, not both"),
                ));
            }
            (None, None) => {
                return Err(src.err(
                    at,
                    format!(
                        "[[key]] {name} has no secret: write secret_file = \"/etc/hale/{}key\" (tsig-keygen's output) or secret = \"…\" (base64)",
                        name.to_ascii()
                    ),
                ));
            }
        };
        if secret.is_empty() {
            return Err(src.err(
                at,
                format!("[[key]] {name}: the secret is empty: write one made by tsig-keygen"),
            ));
        }
        let algorithm = match (algorithm, file_algorithm) {
            (Some(a), Some(b)) if a != b => {
                return Err(src.err(
                    key.algorithm.as_ref().map_or(at, |a| a.span().start),
                    format!(
                        "[[key]] {name}: algorithm {} differs from the key file's {}: write algorithm = \"{}\"",
                        a.name(),
                        b.name(),
                        b.name()
                    ),
                ));
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => {
                return Err(src.err(
                    at,
                    format!("[[key]] {name} has no algorithm: write algorithm = \"hmac-sha256\""),
                ));
            }
        };
        keys.push(TsigKey {
            name,
            algorithm,
            secret: Secret(secret),
            file,
        });
    }
    Ok(keys)
}

/// A key's name as TSIG records carry it: fully qualified, lowercase.
fn key_name(text: &str) -> Option<Name> {
    let text = text.trim();
    if text.is_empty() || text == "." {
        return None;
    }
    let mut name = Name::from_ascii(text).ok()?.to_lowercase();
    name.set_fqdn(true);
    Some(name)
}

/// Base64 with the white space a copied secret may hold.
fn decode(text: &str) -> Option<Vec<u8>> {
    let joined: String = text.split_whitespace().collect();
    data_encoding::BASE64.decode(joined.as_bytes()).ok()
}

/// A key file's secret, and the key's name and algorithm when it says them.
type KeyFile = (Vec<u8>, Option<String>, Option<TsigAlgorithm>);

/// An allow or notify table's address and `key` values.
type EntryFields<'v> = (Option<&'v Value>, Option<&'v Value>);

/// The secret in a key file, with the key's name and algorithm when the
/// file says them: the base64 secret alone, BIND's `key "name" {
/// algorithm …; secret "…"; };` (what `tsig-keygen` prints) or Knot's
/// `keymgr -t` YAML (`id:`, `algorithm:`, `secret:`). The reasons never
/// quote the file.
fn read_key_file(path: &Path) -> Result<KeyFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    // Words, whatever the layout: BIND's block may sit on one line.
    let words: Vec<&str> = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(line))
        .flat_map(|line| line.split(|c: char| c.is_whitespace() || ";{}:\"".contains(c)))
        .filter(|w| !w.is_empty())
        .collect();
    let after = |word: &str| {
        words
            .windows(2)
            .find(|w| w[0] == word && w[1] != "-")
            .map(|w| w[1])
    };
    let Some(secret) = after("secret") else {
        // `algorithm:name:secret`, as `dig -y` and `kdig -y` take it.
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        if let Some([algorithm, name, secret]) = line
            .map(|l| l.splitn(3, ':').collect::<Vec<_>>())
            .as_deref()
            && let Some(secret) = decode(secret)
        {
            let algorithm = TsigAlgorithm::from_name(algorithm).ok_or(
                "its algorithm is not supported: use hmac-sha256, hmac-sha384 or hmac-sha512",
            )?;
            return Ok((secret, Some(name.to_string()), Some(algorithm)));
        }
        let secret = decode(&text).ok_or(
            "no secret in it: write the base64 secret alone, `hmac-sha256:NAME:SECRET`, \
             or what `keymgr -t NAME` or `tsig-keygen NAME` prints",
        )?;
        return Ok((secret, None, None));
    };
    let secret = decode(secret).ok_or("its secret is not base64")?;
    let name = after("key").or_else(|| after("id")).map(str::to_string);
    let algorithm = match after("algorithm") {
        Some(text) => Some(TsigAlgorithm::from_name(text).ok_or_else(|| {
            format!(
                "its algorithm {text:?} is not supported: use hmac-sha256, hmac-sha384 or hmac-sha512"
            )
        })?),
        None => None,
    };
    Ok((secret, name, algorithm))
}

/// Warnings about keys: files others than their owner can read, and
/// secrets shorter than their hash (RFC 8945 §6 asks for at least as
/// long), for `check` and the start (never with the secret).
pub fn key_warnings(keys: &[TsigKey]) -> Vec<String> {
    let short = keys.iter().filter_map(|k| {
        let want = match k.algorithm {
            TsigAlgorithm::HmacSha256 => 32,
            TsigAlgorithm::HmacSha384 => 48,
            TsigAlgorithm::HmacSha512 => 64,
        };
        (k.secret.bytes().len() < want).then(|| {
            format!(
                "[[key]] {}: its secret has {} bytes, fewer than {}'s {want}: \
                 make a new one with `keymgr -t {} {}`",
                k.name,
                k.secret.bytes().len(),
                k.algorithm.name(),
                k.name,
                k.algorithm.name()
            )
        })
    });
    let exposed = keys
        .iter()
        .filter_map(|k| Some((k, k.file.as_ref()?)))
        .filter(|(_, file)| super::secret::readable_by_others(file))
        .map(|(k, file)| {
            format!(
                "[[key]] {}: secret_file {} can be read by others than its owner: \
                 chmod 600 it, owned by the user hale runs as",
                k.name,
                file.display()
            )
        });
    exposed.chain(short).collect()
}

/// A `key = "…"` of an allow or notify entry: a `[[key]]`'s name.
fn entry_key(
    src: &Source,
    at: usize,
    section: &str,
    value: Option<&Value>,
    keys: &[TsigKey],
) -> Result<Option<Name>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = value.as_str().ok_or_else(|| {
        src.err(
            at,
            format!("[transfer] {section}: key is a key's name in quotes, such as key = \"xfr.example.com.\""),
        )
    })?;
    match key_name(text).filter(|n| keys.iter().any(|k| &k.name == n)) {
        Some(name) => Ok(Some(name)),
        None if keys.is_empty() => Err(src.err(
            at,
            format!(
                "[transfer] {section}: key {text:?} is not defined: add a [[key]] with name = {text:?}, algorithm and secret_file"
            ),
        )),
        None => {
            let defined: Vec<String> = keys.iter().map(|k| format!("{:?}", k.name.to_ascii())).collect();
            Err(src.err(
                at,
                format!(
                    "[transfer] {section}: key {text:?} is not defined: the [[key]] names are {}",
                    defined.join(", ")
                ),
            ))
        }
    }
}

/// A table entry's fields, with an error naming any it does not know.
fn table_fields<'v>(
    src: &Source,
    at: usize,
    section: &str,
    value: &'v Value,
    address: &str,
) -> Result<Option<EntryFields<'v>>, ConfigError> {
    let Value::Table(table) = value else {
        return Ok(None);
    };
    if let Some(unknown) = table.keys().find(|k| *k != address && *k != "key") {
        return Err(src.err(
            at,
            format!(
                "[transfer] {section}: unknown field {unknown:?} in an entry: write {{ {address} = \"…\", key = \"…\" }}"
            ),
        ));
    }
    Ok(Some((table.get(address), table.get("key"))))
}

/// How one list of `[transfer]` writes its entries.
struct Entry {
    /// The list's name.
    section: &'static str,
    /// The address field of its table form.
    address: &'static str,
    /// What to write, for the error about an entry that is neither form.
    example: &'static str,
}

impl Entry {
    const ALLOW: Entry = Entry {
        section: "allow",
        address: "from",
        example: "an address or prefix in quotes, or { from = \"192.0.2.0/24\", key = \"xfr.example.com.\" }",
    };
    const NOTIFY: Entry = Entry {
        section: "notify",
        address: "to",
        example: "an address in quotes, or { to = \"192.0.2.53\", key = \"xfr.example.com.\" }",
    };
}

/// An allow or notify entry, alone or as a table: where it is, its address
/// text and the key it names.
fn entry_parts<'v>(
    src: &Source,
    entry: &'v Spanned<Value>,
    keys: &[TsigKey],
    kind: Entry,
) -> Result<(usize, &'v str, Option<Name>), ConfigError> {
    let at = entry.span().start;
    let (address, key) = match table_fields(src, at, kind.section, entry.get_ref(), kind.address)? {
        Some((address, key)) => (address, entry_key(src, at, kind.section, key, keys)?),
        None => (Some(entry.get_ref()), None),
    };
    match address.and_then(Value::as_str).map(str::trim) {
        Some(text) => Ok((at, text, key)),
        None => Err(src.err(
            at,
            format!("[transfer] {}: an entry is {}", kind.section, kind.example),
        )),
    }
}

/// `[transfer] allow`: addresses and prefixes (host bits dropped), each
/// alone or as `{ from = "…", key = "…" }`.
pub(super) fn transfer_allow(
    src: &Source,
    allow: &[Spanned<Value>],
    keys: &[TsigKey],
) -> Result<Vec<TransferAllow>, ConfigError> {
    let mut out = Vec::new();
    for entry in allow {
        let (at, text, key) = entry_parts(src, entry, keys, Entry::ALLOW)?;
        let net = match text.parse::<IpNet>() {
            Ok(net) => net.trunc(),
            Err(_) => text.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                src.err(
                    at,
                    format!(
                        "[transfer] allow: {text:?} is not an address or prefix (192.0.2.1, 2001:db8::/32)"
                    ),
                )
            })?,
        };
        out.push(TransferAllow { net, key });
    }
    Ok(out)
}

/// `[transfer] notify`, each alone or as `{ to = "…", key = "…" }`;
/// duplicates dropped so no secondary is told twice.
pub(super) fn notify(
    src: &Source,
    list: &[Spanned<Value>],
    keys: &[TsigKey],
) -> Result<Vec<NotifyTarget>, ConfigError> {
    let mut notify: Vec<NotifyTarget> = Vec::new();
    for entry in list {
        let (at, text, key) = entry_parts(src, entry, keys, Entry::NOTIFY)?;
        // `::1:5301` is also the address ::1:5301 (port 53): which was meant
        // cannot be known, so both spellings are offered.
        if !text.starts_with('[')
            && let Some(fix) = bracketed(text)
        {
            return Err(src.err(
                at,
                format!(
                    "[transfer] notify: {text:?} is ambiguous: write {fix:?} for that port, or \"[{text}]\" for the address on port 53"
                ),
            ));
        }
        let Some(addr) = notify_addr(text) else {
            return Err(src.err(
                at,
                format!(
                    "[transfer] notify: {text:?} is not an address with an optional port (192.0.2.53, 192.0.2.53:5300, [2001:db8::53]:53)"
                ),
            ));
        };
        if !notify.iter().any(|n| n.to == addr) {
            notify.push(NotifyTarget { to: addr, key });
        }
    }
    Ok(notify)
}

/// A NOTIFY target; an address alone means port 53.
fn notify_addr(text: &str) -> Option<SocketAddr> {
    text.parse::<SocketAddr>()
        .ok()
        .or_else(|| {
            let ip = text.trim_start_matches('[').trim_end_matches(']');
            ip.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
        })
        .filter(|a| a.port() != 0 && !a.ip().is_unspecified())
}
