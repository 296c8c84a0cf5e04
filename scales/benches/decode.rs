//! Decode throughput per family and capture latency through a real pseudo-terminal.
//!
//! Run with `cargo bench -p touchstone-scales`. Throughput decodes a buffer of lines in each
//! family's own shape (the simulator's printer writes them), chunked as a serial port
//! delivers them. Capture latency is the time from the driver reading the stable line (the
//! reading's own timestamp) to `capture_stable` returning it, over a pty to a virtual balance.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use touchstone_scales::driver::Mode;
use touchstone_scales::sim::format::{Cause, weight_line};
use touchstone_scales::sim::physics::Indication;
use touchstone_scales::sim::{SimBalance, SimConfig};
use touchstone_scales::{Balance, ConnectionState, Decoder, DriverConfig, Protocol};

const LINES: usize = 200_000;
const CHUNK: usize = 64;

fn main() {
    println!("decode throughput ({LINES} lines per family, {CHUNK}-byte chunks)");
    println!("{:<14} {:>12} {:>10} {:>10}", "family", "lines/s", "MB/s", "ns/line");
    for protocol in Protocol::ALL {
        throughput(protocol);
    }
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(err) => {
                eprintln!("cannot start a runtime: {err}");
                return;
            }
        };
    println!();
    println!("capture latency through a pty (stable line read -> capture_stable returns)");
    println!(
        "{:<14} {:>8} {:>10} {:>10} {:>10}",
        "family", "samples", "median µs", "p99 µs", "max µs"
    );
    for protocol in Protocol::ALL {
        runtime.block_on(latency(protocol));
    }
}

fn throughput(protocol: Protocol) {
    let mut stream = Vec::new();
    for i in 0..LINES {
        let net = Decimal::new(i64::try_from(i % 100_000).unwrap_or(0), 3);
        let shown = Indication { net, stable: i % 3 != 0, overload: false };
        stream.extend(weight_line(protocol, Cause::Stream, shown, 3));
    }
    let mut decoder = Decoder::new(protocol);
    let now = Instant::now();
    let start = Instant::now();
    let mut decoded = 0usize;
    for chunk in stream.chunks(CHUNK) {
        decoded += decoder.push(chunk, now).len();
    }
    // Shimadzu ends lines with a lone CR: the last one is only complete after a pause.
    decoded += usize::from(decoder.poll_idle(now + Duration::from_secs(1)).is_some());
    // Integer arithmetic: the workspace denies lossy float casts, benchmarks included.
    let nanos = start.elapsed().as_nanos().max(1);
    let lines = u128::try_from(decoded).unwrap_or(u128::MAX);
    let bytes = u128::try_from(stream.len()).unwrap_or(u128::MAX);
    let megabytes_per_s_x10 = bytes * 10_000 / nanos;
    println!(
        "{:<14} {:>12} {:>7}.{} {:>10}",
        protocol.name(),
        lines * 1_000_000_000 / nanos,
        megabytes_per_s_x10 / 10,
        megabytes_per_s_x10 % 10,
        nanos / lines.max(1)
    );
    assert_eq!(decoded, LINES, "{protocol} decoded {decoded} of {LINES}");
}

async fn latency(protocol: Protocol) {
    let dir = std::env::temp_dir().join(format!("touchstone-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut sim_config = SimConfig::new(protocol, dir.join(format!("{protocol}.tty")));
    sim_config.physics.settle = Duration::ZERO;
    sim_config.stream_interval = Duration::from_millis(5);
    sim_config.streaming = true;
    let Ok(sim) = SimBalance::start(sim_config).await else {
        eprintln!("{protocol}: cannot start the virtual balance");
        return;
    };
    let mut config = DriverConfig::new(sim.path(), protocol);
    config.mode = Mode::Streaming;
    config.settle.hold = Duration::ZERO;
    let Ok(balance) = Balance::spawn(config) else { return };
    let mut view = balance.watch();
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        view.wait_for(|v| v.state == ConnectionState::Connected),
    )
    .await;

    let mut samples = Vec::new();
    for i in 0..200u32 {
        let _ = sim.place(Decimal::new(i64::from(1000 + i), 3)).await;
        if let Ok(captured) = balance.capture_stable(Duration::from_secs(2)).await {
            samples.push(captured.reading.at.elapsed());
        }
    }
    samples.sort();
    let pick = |percent: usize| {
        let index = samples.len().saturating_sub(1) * percent / 100;
        samples.get(index).map_or(0, |d| d.as_micros())
    };
    println!(
        "{:<14} {:>8} {:>10} {:>10} {:>10}",
        protocol.name(),
        samples.len(),
        pick(50),
        pick(99),
        samples.last().map_or(0, |d| d.as_micros())
    );
    balance.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
