//! `touchstone-kiosk`: the bench kiosk, its demo, and headless simulated stations.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use touchstone_kiosk::config::BrokerSettings;
use touchstone_kiosk::simulate::{self, SimulateOptions};

/// The Touchstone bench kiosk.
#[derive(Debug, Parser)]
#[command(name = "touchstone-kiosk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive N simulated stations through the kiosk's journal and uplink.
    Simulate {
        /// How many stations.
        #[arg(long, default_value_t = 1)]
        stations: usize,
        /// Events per station in this run.
        #[arg(long, default_value_t = 100)]
        events: u64,
        /// The broker, `mqtt://host:port`.
        #[arg(long)]
        broker: String,
        /// Where the stations' journals are kept (reused across runs).
        #[arg(long, default_value = "kiosk-sim")]
        data_dir: PathBuf,
        /// Station id prefix.
        #[arg(long, default_value = "sim")]
        prefix: String,
        /// Milliseconds between two events of one station.
        #[arg(long, default_value_t = 0)]
        interval_ms: u64,
        /// Seconds to wait at the end for the gateway to confirm everything.
        #[arg(long, default_value_t = 30)]
        drain_secs: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,rumqttd=warn".into()),
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
    match cli.command {
        Command::Simulate {
            stations,
            events,
            broker,
            data_dir,
            prefix,
            interval_ms,
            drain_secs,
        } => {
            let broker = BrokerSettings::parse(&broker).map_err(anyhow::Error::msg)?;
            let report = simulate::run(SimulateOptions {
                stations,
                events,
                broker,
                data_dir,
                prefix,
                interval: Duration::from_millis(interval_ms),
                drain_timeout: Duration::from_secs(drain_secs),
            })
            .await?;
            println!(
                "stations: {stations}\njournaled: {}\nconfirmed: {}\nbacklog: {}\nelapsed_ms: {}",
                report.journaled,
                report.confirmed,
                report.backlog,
                report.elapsed.as_millis()
            );
            Ok(())
        }
    }
}
