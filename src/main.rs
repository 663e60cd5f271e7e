//! The `hale` command: parses the command line, sets up logging, and calls the library.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hale::ctl::{Admin, Command as CtlCall};
use hale::dns::Loaded;
use hale::health::OverrideKind;

/// Where `hale` looks for its config without `--config`, in this order.
const CONFIG_CANDIDATES: [&str; 2] = ["config/hale.toml", "/etc/hale/hale.toml"];

/// Authoritative DNS that answers only with healthy servers.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Config file (TOML); default: ./config/hale.toml, else /etc/hale/hale.toml.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Log format on stderr; `RUST_LOG` sets the filter (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Load config and zones, probe, and serve DNS until SIGTERM/SIGINT (the default).
    Serve,
    /// Validate config and every zone file, print a summary, and exit.
    Check,
    /// Steer a running hale through its admin listener.
    Ctl(CtlArgs),
}

#[derive(Args)]
struct CtlArgs {
    /// The admin listener (default: the config's [admin] listen).
    #[arg(long, global = true)]
    admin: Option<SocketAddr>,
    /// File holding the admin token (default: the config's [admin] token_file).
    #[arg(long, global = true)]
    token_file: Option<PathBuf>,
    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(Subcommand)]
enum CtlCommand {
    /// Every checked name: each address, its verdict, override, and whether it is in the answer.
    Status,
    /// Take ADDRESS out of answers whatever its probes say (probes go on).
    Drain(OverrideArgs),
    /// Keep ADDRESS in answers whatever its probes say.
    ForceUp(OverrideArgs),
    /// Remove the overrides of ADDRESS.
    #[command(alias = "undrain")]
    Clear {
        /// The address, as the zone has it.
        address: IpAddr,
        /// Only the override for this name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Reload config and zones, as SIGHUP does; exit 2 with the error if rejected.
    Reload,
    /// Why each address of NAME is in or out of the answer, and when that can change.
    Explain {
        /// The health-checked name.
        name: String,
        /// A or AAAA (default: both).
        #[arg(value_name = "TYPE")]
        rtype: Option<String>,
        /// Also show the answer if this address went down.
        #[arg(long)]
        if_down: Option<IpAddr>,
    },
}

#[derive(Args)]
struct OverrideArgs {
    /// The address, as the zone has it.
    address: IpAddr,
    /// Only for this name (default: every name that has the address).
    #[arg(long)]
    name: Option<String>,
    /// How long, e.g. 30m or 2h (default: until cleared).
    #[arg(long = "for")]
    duration: Option<String>,
    /// Why, shown wherever the override is.
    #[arg(long)]
    reason: Option<String>,
    /// Drain even when it leaves a name with no healthy address.
    #[arg(long)]
    force: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let command = cli.command.unwrap_or(Command::Serve);
    // `ctl --admin` needs no config: the token may come from --token-file.
    let optional = matches!(&command, Command::Ctl(args) if args.admin.is_some());
    let config = match cli.config {
        Some(path) => path,
        None => match find_config(optional) {
            Ok(path) => path,
            Err(code) => return code,
        },
    };
    match command {
        Command::Check => check(&config),
        Command::Serve => serve(&config),
        Command::Ctl(args) => ctl(&config, args),
    }
}

/// The first of [`CONFIG_CANDIDATES`] that exists; else says which were
/// tried (or, when the config is `optional`, the first, which may not exist).
fn find_config(optional: bool) -> Result<PathBuf, ExitCode> {
    if let Some(found) = CONFIG_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    {
        return Ok(found);
    }
    if optional {
        return Ok(PathBuf::from(CONFIG_CANDIDATES[0]));
    }
    eprintln!(
        "error: no config found: tried {} (pass --config PATH)",
        CONFIG_CANDIDATES.join(" and ")
    );
    Err(ExitCode::from(EXIT_BAD_INPUT))
}

/// `hale ctl`: one command to the admin listener.
fn ctl(config: &Path, args: CtlArgs) -> ExitCode {
    let call = match args.command {
        CtlCommand::Status => CtlCall::Status,
        CtlCommand::Drain(o) => set(OverrideKind::Drain, o),
        CtlCommand::ForceUp(o) => set(OverrideKind::ForceUp, o),
        CtlCommand::Clear { address, name } => CtlCall::Clear { address, name },
        CtlCommand::Reload => CtlCall::Reload,
        CtlCommand::Explain {
            name,
            rtype,
            if_down,
        } => CtlCall::Explain {
            name,
            rtype,
            if_down,
        },
    };
    let result = Admin::find(config, args.admin, args.token_file.as_deref())
        .and_then(|admin| admin.run(call, &mut std::io::stdout()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn set(kind: OverrideKind, o: OverrideArgs) -> CtlCall {
    CtlCall::Set {
        kind,
        address: o.address,
        name: o.name,
        duration: o.duration,
        reason: o.reason,
        force: o.force,
    }
}

fn init_logging(format: LogFormat) {
    hale::logging::init(match format {
        LogFormat::Text => hale::logging::Format::Text,
        LogFormat::Json => hale::logging::Format::Json,
    });
}

/// Exit code for a config or zone file that is wrong.
const EXIT_BAD_INPUT: u8 = 2;

#[allow(clippy::print_stdout)]
fn check(path: &Path) -> ExitCode {
    match Loaded::load(path) {
        Ok(loaded) => {
            let names: usize = loaded.zones.iter().map(|z| z.len()).sum();
            let mut origins: Vec<String> =
                loaded.zones.iter().map(|z| z.origin.to_ascii()).collect();
            origins.sort();
            println!(
                "{}: ok: {} zone(s) ({}), {} name(s), {} checked name(s), {} target(s)",
                path.display(),
                loaded.zones.len(),
                origins.join(", "),
                names,
                loaded.checks.len(),
                loaded.checks.target_specs().len()
            );
            for check in &loaded.config.checks {
                print_worst_case(&loaded, check);
            }
            for to in loaded.config.notify_not_allowed() {
                eprintln!(
                    "warning: [transfer] notify names {to}, which [transfer] allow does not: its transfers will be REFUSED"
                );
            }
            for warning in hale::config::key_warnings(&loaded.config.keys) {
                eprintln!("warning: {}: {warning}", path.display());
            }
            if let Some(secrets) = &loaded.config.cookie_secrets
                && loaded.config.cookies
                && hale::config::readable_by_others(&secrets.path)
            {
                eprintln!(
                    "warning: {}: [server] cookie_secret_file {} is readable by other users: \
                     whoever reads it can forge server cookies; chmod 600 it (owned by hale's user)",
                    path.display(),
                    secrets.path.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// One check's worst case, and a warning when its timeout is not below its interval.
#[allow(clippy::print_stdout)]
fn print_worst_case(loaded: &Loaded, check: &hale::config::Check) {
    let worst = loaded.checks.worst_case(check);
    let s = &check.schedule;
    let names: Vec<String> = check.names.iter().map(|(n, _)| n.to_ascii()).collect();
    let d = |d| humantime::format_duration(d).to_string();
    println!(
        "  check at line {} ({}): a failing backend leaves hale's answers within {} \
         (fall {} x interval {} + timeout {}) and resolvers within {} (+ TTL {}s)",
        check.line,
        names.join(", "),
        d(worst.leaves),
        s.fall,
        d(s.interval),
        d(s.timeout),
        d(worst.resolvers),
        worst.ttl
    );
    if s.timeout >= s.interval {
        eprintln!(
            "warning: {}:{}: timeout {} is not below interval {}: a slow probe delays the next one; \
             set timeout below interval",
            loaded.config.path.display(),
            check.line,
            d(s.timeout),
            d(s.interval)
        );
    }
}

fn serve(path: &Path) -> ExitCode {
    // Everything is validated before any socket opens.
    let loaded = match Loaded::load(path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let signals = match hale::server::Signals::register() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let running = match hale::server::start(loaded, path.to_path_buf()).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        running.run_until_signal(signals).await;
        ExitCode::SUCCESS
    })
}
