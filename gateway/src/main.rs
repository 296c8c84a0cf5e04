//! `touchstone-gateway`: runs the gateway, or imports master data into its store.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use touchstone_gateway::config::{Config, Options};
use touchstone_gateway::import::{self, Kind};
use touchstone_gateway::store::Store;

/// Touchstone's gateway: stores every bench event once, confirms it, serves the API.
#[derive(Debug, Parser)]
#[command(name = "touchstone-gateway", version, about)]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Import master data from a CSV or JSON file, or every known file in a folder.
    Import {
        /// A file such as `jobs.csv` or `operators.json`, or a folder of them.
        path: PathBuf,
        /// The kind of data, when the file name does not say.
        #[arg(long)]
        kind: Option<Kind>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rumqttd=warn,sqlx=warn".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(&cli.options)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => touchstone_gateway::gateway::run(config, shutdown_signal(), |_| {}).await,
        Command::Import { path, kind } => {
            std::fs::create_dir_all(&config.data_dir)?;
            let store = Store::open(&config.database).await?;
            let reports = if path.is_dir() {
                import::import_dir(&store, &path).await?
            } else {
                vec![import::import_file(&store, &path, kind).await?]
            };
            for report in reports {
                println!("{}: imported {} {}", report.file, report.count, report.kind);
            }
            Ok(())
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for SIGTERM; Ctrl-C only");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
