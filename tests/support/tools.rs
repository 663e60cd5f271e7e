//! Command-line DNS tools the tests run against hale (BIND's `dig`, Knot's
//! `kdig`): present, or the test that needs one is skipped on a developer's
//! machine and fails under CI, which sets the tool's `HALE_REQUIRE_*`.

use std::process::{Command, Stdio};

/// Whether `tool` runs; else says why `what` is skipped (or fails, when the
/// environment variable `require` is set, as `.ci/run` sets it).
pub fn tool_or_skip(tool: &str, package: &str, require: &str, what: &str) -> bool {
    let runs = Command::new(tool)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if runs {
        return true;
    }
    let why = format!("{tool} not found: install it (`apt-get install {package}`)");
    assert!(std::env::var_os(require).is_none(), "{why}");
    eprintln!("skipping {tool} in {what}: {why}");
    false
}
