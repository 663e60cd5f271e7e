//! The `hale` command: parses the command line, sets up logging, and calls the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hale::dns::Loaded;

/// Authoritative DNS that answers only with healthy servers.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Config file (TOML).
    #[arg(long, short, global = true, default_value = "config/hale.toml")]
    config: PathBuf,
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
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Check => check(&cli.config),
        Command::Serve => serve(&cli.config),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: log files and journald would
    // keep the escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
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
            for to in loaded.config.notify_not_allowed() {
                eprintln!(
                    "warning: [transfer] notify names {to}, which [transfer] allow does not: its transfers will be REFUSED"
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
