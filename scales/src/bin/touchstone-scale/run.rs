//! The subcommands, each wiring library parts together.

use std::io::{BufWriter, Read, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use touchstone_scales::driver::{Mode, probe};
use touchstone_scales::sim::{SimBalance, SimConfig};
use touchstone_scales::{Balance, Decoder, DriverConfig, Protocol, Reading};

use crate::cli::{Args, Cmd, ModeArg};
use crate::json::ReadingJson;

/// Runs the chosen subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Cmd::Decode { protocol } => decode(protocol),
        Cmd::Ports => ports(),
        other => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(run_async(other))
        }
    }
}

async fn run_async(command: Cmd) -> anyhow::Result<()> {
    match command {
        Cmd::Probe { port, listen_ms } => {
            let report = probe::probe(&port, Duration::from_millis(listen_ms))
                .await
                .with_context(|| format!("probing {}", port.display()))?;
            let Some(report) = report else {
                anyhow::bail!(
                    "no balance answered on {}; check the cable, that the balance is on, and \
                     its interface menu",
                    port.display()
                );
            };
            let s = report.serial;
            println!("protocol: {}", report.protocol);
            println!(
                "settings: {} baud, {:?} data bits, {:?} parity, {:?} stop bits",
                s.baud, s.data_bits, s.parity, s.stop_bits
            );
            println!("mode: {}", if report.streaming { "streaming" } else { "polling" });
            println!("model: {}", report.identity.model.as_deref().unwrap_or("(not reported)"));
            println!("serial: {}", report.identity.serial.as_deref().unwrap_or("(not reported)"));
            println!("sample: {}", describe(&report.sample));
            Ok(())
        }
        Cmd::Watch { port, protocol, serial, mode, poll_ms } => {
            let mut config = DriverConfig::new(&port, protocol);
            config.serial = serial.settings(protocol);
            match mode {
                Some(ModeArg::Poll) => {
                    config.mode = Mode::Polling { interval: Duration::from_millis(poll_ms) }
                }
                Some(ModeArg::Stream) => config.mode = Mode::Streaming,
                None => {}
            }
            let balance = Balance::spawn(config).context("starting the balance driver")?;
            let mut view = balance.watch();
            let mut last_state = String::new();
            loop {
                tokio::select! {
                    changed = view.changed() => if changed.is_err() { break },
                    _ = tokio::signal::ctrl_c() => break,
                }
                let current = view.borrow_and_update().clone();
                let state = current.state.to_string();
                if state != last_state {
                    println!("# {state}");
                    last_state = state;
                }
                if let Some(reading) = current
                    .latest
                    .as_ref()
                    .filter(|_| current.state == touchstone_scales::ConnectionState::Connected)
                {
                    println!(
                        "{}{}",
                        describe(reading),
                        if current.settled { " (settled)" } else { "" }
                    );
                }
            }
            balance.shutdown().await;
            Ok(())
        }
        Cmd::Simulate { protocol, link, streaming, settle_ms, load } => {
            let link = link.unwrap_or_else(|| {
                std::env::temp_dir().join(format!("touchstone-scale-{protocol}"))
            });
            let mut config = SimConfig::new(protocol, &link);
            config.streaming = streaming;
            config.physics.settle = Duration::from_millis(settle_ms);
            let sim = SimBalance::start(config).await.with_context(|| {
                format!("starting a virtual {protocol} balance at {}", link.display())
            })?;
            if let Some(grams) = load {
                sim.place(grams).await.context("placing the initial load")?;
            }
            println!("{}", sim.path().display());
            tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
            Ok(())
        }
        Cmd::Decode { .. } | Cmd::Ports => Ok(()),
    }
}

/// One line for a human: value, unit, grams, stability, status.
fn describe(reading: &Reading) -> String {
    let stability = match reading.stability {
        Some(touchstone_model::event::Stability::Unstable) => "unstable",
        Some(_) => "stable",
        None => "no-flag",
    };
    format!(
        "{} {} = {} g [{}] {}",
        reading.value.as_deref().unwrap_or("-"),
        reading.unit.as_ref().map_or("-", |u| u.raw.as_str()),
        reading.grams.map_or_else(|| "?".to_owned(), |g| g.value().to_string()),
        stability,
        reading.status,
    )
}

fn decode(protocol: Protocol) -> anyhow::Result<()> {
    let mut decoder = Decoder::new(protocol);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut buf = [0u8; 8192];
    loop {
        let n = input.read(&mut buf).context("reading standard input")?;
        if n == 0 {
            break;
        }
        for reading in decoder.push(buf.get(..n).unwrap_or_default(), Instant::now()) {
            write_json(&mut out, &reading)?;
        }
    }
    // End of input also ends a last line terminated by a lone CR.
    if let Some(reading) = decoder.poll_idle(Instant::now() + Duration::from_secs(3600)) {
        write_json(&mut out, &reading)?;
    }
    out.flush().context("writing standard output")?;
    Ok(())
}

fn write_json(out: &mut impl Write, reading: &Reading) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, &ReadingJson::from(reading)).context("writing JSON")?;
    out.write_all(b"\n").context("writing standard output")?;
    Ok(())
}

fn ports() -> anyhow::Result<()> {
    let ports = tokio_serial::available_ports().context("listing serial ports")?;
    if ports.is_empty() {
        println!("no serial ports found");
    }
    for port in ports {
        match port.port_type {
            tokio_serial::SerialPortType::UsbPort(usb) => println!(
                "{}\tusb {:04x}:{:04x}\tvendor={}\tproduct={}\tserial={}",
                port.port_name,
                usb.vid,
                usb.pid,
                usb.manufacturer.as_deref().unwrap_or("?"),
                usb.product.as_deref().unwrap_or("?"),
                usb.serial_number.as_deref().unwrap_or("?"),
            ),
            tokio_serial::SerialPortType::PciPort => println!("{}\tpci", port.port_name),
            tokio_serial::SerialPortType::BluetoothPort => {
                println!("{}\tbluetooth", port.port_name)
            }
            tokio_serial::SerialPortType::Unknown => println!("{}\tunknown", port.port_name),
        }
    }
    Ok(())
}
