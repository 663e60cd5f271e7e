//! Programs the tests run beside hale (NSD, Knot, BIND's `dig`, Knot's
//! `kdig`): present, or the test that needs one is skipped on a developer's
//! machine and fails under CI, which sets the program's `HALE_REQUIRE_*`.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

/// Whether `program arg` can be run at all.
pub fn runs(program: impl AsRef<OsStr>, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Says why `what` is skipped (`why`), and returns false; fails instead
/// when the environment variable `require` is set, as `.ci/run` sets it.
pub fn skip(why: &str, require: &str, what: &str) -> bool {
    assert!(std::env::var_os(require).is_none(), "{why}");
    eprintln!("skipping {what}: {why}");
    false
}

/// Whether `tool` (from the Debian package `package`) runs; else skips
/// `what` by [`skip`].
pub fn tool_or_skip(tool: &str, package: &str, require: &str, what: &str) -> bool {
    runs(tool, "-v")
        || skip(
            &format!("{tool} not found: install it (`apt-get install {package}`)"),
            require,
            &format!("{tool} in {what}"),
        )
}
