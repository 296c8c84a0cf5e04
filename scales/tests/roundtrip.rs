//! Round trips through a real pseudo-terminal: a virtual balance of every family, the serial
//! driver on the other end, and the capture rules in between. Families run concurrently
//! inside each test to keep wall time short; settle times are a few hundred milliseconds.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers panic on a failed setup, which fails the test"
)]

use std::path::Path;
use std::time::Duration;

use rust_decimal::Decimal;
use tokio::task::JoinSet;
use tokio::time::Instant;
use touchstone_model::event::Stability;
use touchstone_scales::driver::{Mode, SettlePolicy};
use touchstone_scales::sim::{SimBalance, SimConfig};
use touchstone_scales::{Balance, ConnectionState, DriverConfig, DriverError, Protocol};

const SETTLE: Duration = Duration::from_millis(250);
const WAIT: Duration = Duration::from_secs(8);

fn grams(text: &str) -> Decimal {
    Decimal::from_str_exact(text).unwrap()
}

/// A virtual balance and a driver connected to it.
async fn rig(protocol: Protocol, dir: &Path) -> (SimBalance, Balance) {
    let mut sim_config = SimConfig::new(protocol, dir.join(format!("{protocol}.tty")));
    sim_config.physics.settle = SETTLE;
    sim_config.stream_interval = Duration::from_millis(20);
    let sim = SimBalance::start(sim_config).await.unwrap();
    let mut config = DriverConfig::new(sim.path(), protocol);
    if let Mode::Polling { .. } = config.mode {
        config.mode = Mode::Polling { interval: Duration::from_millis(20) };
    }
    config.settle =
        SettlePolicy { tolerance_grams: grams("0.001"), hold: Duration::from_millis(100) };
    config.reconnect_initial = Duration::from_millis(20);
    config.reconnect_max = Duration::from_millis(100);
    config.identity_timeout = Duration::from_millis(150);
    config.silence_timeout = Duration::from_millis(400);
    config.garbled_timeout = Duration::from_millis(400);
    let balance = Balance::spawn(config).unwrap();
    (sim, balance)
}

async fn wait_for_state(balance: &Balance, wanted: impl Fn(&ConnectionState) -> bool) {
    let mut view = balance.watch();
    tokio::time::timeout(WAIT, view.wait_for(|v| wanted(&v.state)))
        .await
        .expect("state not reached in time")
        .expect("driver stopped");
}

async fn wait_for_net(balance: &Balance, net: Decimal) {
    let mut view = balance.watch();
    let reached = view.wait_for(|v| v.latest.as_ref().and_then(|r| r.number) == Some(net));
    tokio::time::timeout(WAIT, reached)
        .await
        .expect("net not shown in time")
        .expect("driver stopped");
}

/// Places `load` on the pan and waits until the driver has read a line of it. Lines of the
/// previous load printed before the change may still be queued in the pty on a busy machine,
/// and a capture started before they are read would rightly take their stable weight.
async fn place(sim: &SimBalance, balance: &Balance, load: Decimal) {
    let mut view = balance.watch();
    let shown = view.wait_for(|v| v.latest.is_some());
    let before = tokio::time::timeout(WAIT, shown)
        .await
        .expect("no reading before the load")
        .expect("driver stopped")
        .latest
        .as_ref()
        .map(|r| r.raw.clone());
    sim.place(load).await.unwrap();
    let moved = view.wait_for(|v| v.latest.as_ref().map(|r| r.raw.clone()) != before);
    tokio::time::timeout(WAIT, moved)
        .await
        .expect("the load was never read")
        .expect("driver stopped");
}

/// Waits until the driver has read no line for five polling intervals.
async fn wait_until_quiet(balance: &Balance) {
    let deadline = Instant::now() + WAIT;
    let mut seen = balance.watch().borrow().seq;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = balance.watch().borrow().seq;
        if now == seen {
            return;
        }
        assert!(Instant::now() < deadline, "the balance never went quiet");
        seen = now;
    }
}

/// Runs `scenario` for every family at once and reports every family that failed.
async fn for_every_family<F, Fut>(scenario: F)
where
    F: Fn(Protocol, std::path::PathBuf) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let mut set = JoinSet::new();
    for protocol in Protocol::ALL {
        let fut = scenario(protocol, dir.path().to_owned());
        set.spawn(async move { (protocol, tokio::spawn(fut).await) });
    }
    let mut failed = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (protocol, result) = joined.unwrap();
        if let Err(err) = result {
            failed.push(format!("{protocol}: {err}"));
        }
    }
    assert!(failed.is_empty(), "families failed:\n{}", failed.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stable_capture_waits_until_the_load_settles() {
    for_every_family(|protocol, dir| async move {
        let (sim, balance) = rig(protocol, &dir).await;
        wait_for_state(&balance, |s| *s == ConnectionState::Connected).await;
        let placed_at = Instant::now();
        place(&sim, &balance, grams("12.345")).await;
        let captured = balance.capture_stable(WAIT).await.unwrap();
        // Unstable readings are refused: nothing comes back before the load has settled.
        assert!(placed_at.elapsed() >= SETTLE, "{protocol} captured while settling");
        assert_eq!(captured.reading.grams.map(|g| g.value()), Some(grams("12.345")), "{protocol}");
        let expected =
            if protocol.reports_stability() { Stability::Stable } else { Stability::Settled };
        assert_eq!(captured.stability, expected, "{protocol}");
        assert_eq!(captured.identity.protocol, protocol.name());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tare_and_zero_work_where_the_family_has_them() {
    for_every_family(|protocol, dir| async move {
        let (sim, balance) = rig(protocol, &dir).await;
        wait_for_state(&balance, |s| *s == ConnectionState::Connected).await;
        place(&sim, &balance, grams("5")).await;
        balance.capture_stable(WAIT).await.unwrap();
        match balance.tare().await {
            Err(DriverError::Unsupported { .. }) => {
                assert!(
                    touchstone_scales::command::encode(
                        protocol,
                        touchstone_scales::command::Command::Tare
                    )
                    .is_none()
                );
                return;
            }
            other => other.unwrap(),
        }
        wait_for_net(&balance, grams("0.000")).await;
        place(&sim, &balance, grams("7.5")).await;
        let captured = balance.capture_stable(WAIT).await.unwrap();
        assert_eq!(
            captured.reading.grams.map(|g| g.value()),
            Some(grams("2.5")),
            "{protocol} net after tare"
        );
        match balance.zero().await {
            Err(DriverError::Unsupported { .. }) => return,
            other => other.unwrap(),
        }
        wait_for_net(&balance, grams("0.000")).await;
        place(&sim, &balance, Decimal::ZERO).await;
        let captured = balance.capture_stable(WAIT).await.unwrap();
        assert_eq!(
            captured.reading.grams.map(|g| g.value()),
            Some(grams("-7.5")),
            "{protocol} after zero"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_a_clear_error_never_a_weight() {
    for_every_family(|protocol, dir| async move {
        let (sim, balance) = rig(protocol, &dir).await;
        wait_for_state(&balance, |s| *s == ConnectionState::Connected).await;
        if protocol == Protocol::Ohaus {
            // Ohaus prints nothing when overloaded, so there is no line of the load to wait
            // for: wait instead until the empty pan's queued lines have all been read.
            sim.place(grams("400")).await.unwrap();
            wait_until_quiet(&balance).await;
        } else {
            place(&sim, &balance, grams("400")).await;
        }
        let result = balance.capture_stable(Duration::from_secs(2)).await;
        match (protocol, result) {
            // Ohaus documents no serial overload form: nothing is recorded, the wait runs out.
            (Protocol::Ohaus, Err(DriverError::Timeout { .. })) => {}
            // Kern's legacy `Error` field and ViBRA's `E` status are what those balances send.
            (Protocol::Kern | Protocol::Vibra, Err(DriverError::Balance { .. })) => {}
            (_, Err(DriverError::Overload)) => {}
            (_, other) => panic!("{protocol}: expected an overload error, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplug_during_capture_reconnects_and_captures() {
    for_every_family(|protocol, dir| async move {
        let (sim, balance) = rig(protocol, &dir).await;
        wait_for_state(&balance, |s| *s == ConnectionState::Connected).await;
        let serial_before = balance.watch().borrow().identity.serial.clone();
        let balance = std::sync::Arc::new(balance);
        place(&sim, &balance, grams("3.21")).await;
        let capture = tokio::spawn({
            let balance = balance.clone();
            async move { balance.capture_stable(WAIT).await }
        });
        sim.unplug().await.unwrap();
        wait_for_state(&balance, |s| matches!(s, ConnectionState::Disconnected { .. })).await;
        assert!(!capture.is_finished(), "{protocol} capture ended while unplugged");
        sim.replug().await.unwrap();
        let captured = capture.await.unwrap().unwrap();
        assert_eq!(captured.reading.grams.map(|g| g.value()), Some(grams("3.21")), "{protocol}");
        assert_eq!(balance.watch().borrow().identity.serial, serial_before, "{protocol}");
    })
    .await;
}
