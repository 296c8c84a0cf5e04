//! `touchstone-kiosk`: the bench kiosk, its demo, and headless simulated stations.
//!
//! The screen runs on the main thread (eframe insists); everything else runs on a tokio
//! runtime beside it. Closing the window, or SIGTERM from systemd, publishes the bench's
//! offline status and closes the journal; a kill without warning loses nothing either,
//! because every event is on disk before the screen says it is done.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rust_decimal::Decimal;
use tokio::sync::oneshot;
use touchstone_kiosk::app::{AppOptions, Clock, KioskApp};
use touchstone_kiosk::config::{BrokerSettings, ScannerSettings, StationConfig};
use touchstone_kiosk::simulate::{self, SimulateOptions};
use touchstone_kiosk::station::{self, Running};
use touchstone_kiosk::ui::{Demo, demo_codes};
use touchstone_scales::sim::{SimBalance, SimConfig};
use touchstone_scales::{DriverConfig, Protocol};

/// The Touchstone bench kiosk.
#[derive(Debug, Parser)]
#[command(name = "touchstone-kiosk", version, about)]
struct Cli {
    /// The station file (TOML): station id, broker, balance, scanner, GPIO.
    #[arg(long, env = "TOUCHSTONE_KIOSK_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run the demo: a gateway with its embedded broker and the demo workshop in this
    /// process, a virtual balance, and a bench in a window.
    #[arg(long, conflicts_with = "config")]
    demo: bool,
    /// With --demo: where the gateway's store and the bench's journal live.
    #[arg(long, default_value = "demo-data", value_name = "DIR")]
    data_dir: PathBuf,
    /// With --demo: which demo station the bench is.
    #[arg(long, default_value = "setting-1", value_name = "ID")]
    station: String,
    /// With --demo: where the embedded broker listens.
    #[arg(long, default_value = "127.0.0.1:1883", value_name = "ADDR")]
    mqtt_listen: SocketAddr,
    /// With --demo: where the gateway's HTTP API listens.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    http_listen: SocketAddr,
    /// Open a window even if the station file asks for full screen.
    #[arg(long)]
    windowed: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a station file and print what it says.
    CheckConfig {
        /// The station file.
        file: PathBuf,
    },
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
                .unwrap_or_else(|_| "info,sqlx=warn,rumqttd=warn,wgpu=warn,eframe=warn".into()),
        )
        .init();
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(err) => {
                eprintln!("error: starting the async runtime: {err}");
                return ExitCode::FAILURE;
            }
        };
    match run(cli, &runtime) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::CheckConfig { file }) => {
            let config = StationConfig::load(&file)?;
            println!("{} is valid: station {}", file.display(), config.station);
            println!(
                "broker: {}:{} (tls: {})",
                config.broker.host, config.broker.port, config.broker.tls
            );
            match &config.balance {
                Some(b) => println!("balance: {} on {}", b.protocol, b.path.display()),
                None => println!("balance: none"),
            }
            Ok(())
        }
        Some(Command::Simulate {
            stations,
            events,
            broker,
            data_dir,
            prefix,
            interval_ms,
            drain_secs,
        }) => {
            let broker = BrokerSettings::parse(&broker).map_err(anyhow::Error::msg)?;
            let report = runtime.block_on(simulate::run(SimulateOptions {
                stations,
                events,
                broker,
                data_dir,
                prefix,
                interval: Duration::from_millis(interval_ms),
                drain_timeout: Duration::from_secs(drain_secs),
            }))?;
            println!(
                "stations: {stations}\njournaled: {}\nconfirmed: {}\nbacklog: {}\nelapsed_ms: {}",
                report.journaled,
                report.confirmed,
                report.backlog,
                report.elapsed.as_millis()
            );
            Ok(())
        }
        None if cli.demo => demo(&cli, runtime),
        None => {
            let path = cli
                .config
                .as_deref()
                .context("give the station file with --config FILE, or try the demo with --demo")?;
            let config = StationConfig::load(path)?;
            let running =
                runtime.block_on(station::start(&config, None, env!("CARGO_PKG_VERSION")))?;
            let options = app_options(&config, None);
            let fullscreen = config.fullscreen && !cli.windowed;
            window(runtime, running, options, fullscreen)
        }
    }
}

fn app_options(config: &StationConfig, demo: Option<Demo>) -> AppOptions {
    let (scan_gap, scan_min_len) = match config.scanner {
        ScannerSettings::Keyboard { max_gap, min_len } => (max_gap, min_len),
        ScannerSettings::Serial { .. } => (Duration::from_millis(50), 4),
    };
    AppOptions {
        idle_signout: config.idle_signout,
        scan_gap,
        scan_min_len,
        clock: Clock::System,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        demo,
    }
}

/// Opens the window and runs until it closes, then shuts the station down.
fn window(
    runtime: &tokio::runtime::Runtime,
    running: Running,
    options: AppOptions,
    fullscreen: bool,
) -> anyhow::Result<()> {
    let Running { station, outcomes, stopper } = running;
    let close = station.outbox();
    let app = KioskApp::new(station, outcomes, options);
    let _guard = runtime.enter();
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Touchstone")
            .with_inner_size([1024.0, 640.0])
            .with_min_inner_size([800.0, 480.0])
            .with_fullscreen(fullscreen),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    runtime.spawn(async move {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
            tracing::info!("SIGTERM: closing the kiosk");
            close.close_screen();
        }
    });
    let shown = eframe::run_native("Touchstone", native, Box::new(|_cc| Ok(Box::new(app))))
        .map_err(|err| anyhow::anyhow!("the screen could not start: {err}"));
    runtime.block_on(stopper.shutdown());
    shown
}

fn demo(cli: &Cli, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let root = &cli.data_dir;
    let (stop_gateway, gateway_stopped) = runtime.block_on(start_gateway(cli, root))?;
    let config = StationConfig::from_toml(&format!(
        "station = \"{}\"\ndata_dir = \"{}\"\nfullscreen = false\n[broker]\nurl = \"mqtt://{}\"\n",
        cli.station,
        root.join("bench").display(),
        cli.mqtt_listen
    ))?;
    let (sim, running) = runtime.block_on(async {
        std::fs::create_dir_all(root.join("bench"))?;
        let sim = SimBalance::start(SimConfig::new(Protocol::MtSics, root.join("bench/balance")))
            .await
            .context("starting the virtual balance")?;
        let driver = DriverConfig::new(sim.path(), Protocol::MtSics);
        let running = station::start(&config, Some(driver), env!("CARGO_PKG_VERSION")).await?;
        anyhow::Ok((sim, running))
    })?;
    let codes = {
        let master = running.station.cache.read();
        if master.jobs.is_empty() {
            // The gateway publishes the workshop within a moment; until then use the same files.
            drop(master);
            if let Ok(data) = touchstone_kiosk::demo_data::master_data(chrono::Utc::now()) {
                running.station.cache.replace(data);
            }
        }
        demo_codes(&running.station.cache.read(), &config.station)
    };
    let demo = Demo {
        codes,
        loads: ["6.118", "5.872", "12.500", "0.410"]
            .iter()
            .filter_map(|g| g.parse::<Decimal>().ok())
            .collect(),
        balance: Some((std::sync::Arc::new(sim), runtime.handle().clone())),
    };
    println!(
        "demo: gateway API http://{} (token in {}), broker mqtt://{}, bench {}",
        cli.http_listen,
        root.join("gateway/api-token").display(),
        cli.mqtt_listen,
        cli.station
    );
    let options = app_options(&config, Some(demo));
    let shown = window(runtime, running, options, false);
    let _ = stop_gateway.send(());
    let _ = runtime.block_on(gateway_stopped);
    shown
}

async fn start_gateway(
    cli: &Cli,
    root: &Path,
) -> anyhow::Result<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)> {
    let options = touchstone_gateway::config::Options {
        data_dir: Some(root.join("gateway")),
        mqtt_listen: Some(cli.mqtt_listen),
        http_listen: Some(cli.http_listen),
        demo: true,
        ..Default::default()
    };
    let config = touchstone_gateway::config::Config::load(&options)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let (ready_tx, ready) = oneshot::channel();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        let result = touchstone_gateway::gateway::run(config, shutdown, |addr| {
            let _ = ready_tx.send(addr);
        })
        .await;
        if let Err(err) = result {
            tracing::error!(error = %format!("{err:#}"), "the demo gateway stopped");
        }
    });
    tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .context("the demo gateway did not start in 30 s")?
        .context("the demo gateway failed to start (is the port taken? see the log above)")?;
    Ok((stop, task))
}
