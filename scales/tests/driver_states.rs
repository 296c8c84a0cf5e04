//! The driver reports the real world plainly: garbage from a wrong baud rate, a silent port,
//! a different balance plugged into the same port, a flooding stream; and autodetection finds
//! each family through a real pseudo-terminal.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers panic on a failed setup, which fails the test"
)]

use std::path::Path;
use std::time::Duration;

use rust_decimal::Decimal;
use touchstone_scales::driver::{Mode, probe};
use touchstone_scales::sim::{SimBalance, SimConfig};
use touchstone_scales::{Balance, ConnectionState, DriverConfig, Protocol};

const WAIT: Duration = Duration::from_secs(8);

fn sim_config(protocol: Protocol, dir: &Path) -> SimConfig {
    let mut config = SimConfig::new(protocol, dir.join(format!("{protocol}.tty")));
    config.physics.settle = Duration::from_millis(200);
    config.stream_interval = Duration::from_millis(20);
    config
}

fn driver_config(protocol: Protocol, path: &Path) -> DriverConfig {
    let mut config = DriverConfig::new(path, protocol);
    if let Mode::Polling { .. } = config.mode {
        config.mode = Mode::Polling { interval: Duration::from_millis(20) };
    }
    config.reconnect_initial = Duration::from_millis(20);
    config.reconnect_max = Duration::from_millis(100);
    config.identity_timeout = Duration::from_millis(150);
    config.silence_timeout = Duration::from_millis(300);
    config.garbled_timeout = Duration::from_millis(300);
    config
}

async fn reaches(balance: &Balance, wanted: impl Fn(&ConnectionState) -> bool) -> ConnectionState {
    let mut view = balance.watch();
    let view = tokio::time::timeout(WAIT, view.wait_for(|v| wanted(&v.state)))
        .await
        .expect("state not reached in time")
        .expect("driver stopped");
    view.state.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_baud_garbage_is_reported_as_garbled_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimBalance::start(sim_config(Protocol::MtSics, dir.path())).await.unwrap();
    let balance = Balance::spawn(driver_config(Protocol::MtSics, sim.path())).unwrap();
    reaches(&balance, |s| *s == ConnectionState::Connected).await;
    sim.garbage(true).await.unwrap();
    reaches(&balance, |s| *s == ConnectionState::Garbled).await;
    sim.garbage(false).await.unwrap();
    reaches(&balance, |s| *s == ConnectionState::Connected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_that_exists_but_says_nothing_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimBalance::start(sim_config(Protocol::Generic, dir.path())).await.unwrap();
    let balance = Balance::spawn(driver_config(Protocol::Generic, sim.path())).unwrap();
    reaches(&balance, |s| *s == ConnectionState::Connected).await;
    sim.streaming(false).await.unwrap();
    reaches(&balance, |s| *s == ConnectionState::Silent).await;
    let err = balance.capture_stable(Duration::from_millis(300)).await.unwrap_err();
    assert!(err.to_string().contains("silent"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_balance_on_the_same_port_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = SimBalance::start(sim_config(Protocol::MtSics, dir.path())).await.unwrap();
    let balance = Balance::spawn(driver_config(Protocol::MtSics, first.path())).unwrap();
    reaches(&balance, |s| *s == ConnectionState::Connected).await;
    assert_eq!(balance.watch().borrow().identity.serial.as_deref(), Some("SIM0001"));
    assert_eq!(balance.watch().borrow().identity.model.as_deref(), Some("SIM320"));

    first.unplug().await.unwrap();
    drop(first);
    let mut other = sim_config(Protocol::MtSics, dir.path());
    other.serial = "OTHER42".into();
    let _second = SimBalance::start(other).await.unwrap();
    let state = reaches(&balance, |s| matches!(s, ConnectionState::WrongBalance { .. })).await;
    assert_eq!(
        state,
        ConnectionState::WrongBalance { expected: "SIM0001".into(), found: "OTHER42".into() }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_stream_still_gives_the_stable_weight() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = sim_config(Protocol::And, dir.path());
    config.streaming = true;
    config.stream_interval = Duration::from_millis(1);
    let sim = SimBalance::start(config).await.unwrap();
    let mut driver = driver_config(Protocol::And, sim.path());
    driver.mode = Mode::Streaming;
    let balance = Balance::spawn(driver).unwrap();
    reaches(&balance, |s| *s == ConnectionState::Connected).await;
    sim.place(Decimal::new(42_125, 3)).await.unwrap();
    // Wait until the driver has read a line of the new load: lines of the empty pan printed
    // before the load was placed may still be queued in the pty on a busy machine, and a
    // capture started before they are read would rightly take their stable zero.
    let mut view = balance.watch();
    tokio::time::timeout(
        WAIT,
        view.wait_for(|v| v.latest.as_ref().and_then(|r| r.number).is_some_and(|n| !n.is_zero())),
    )
    .await
    .unwrap()
    .unwrap();
    let captured = balance.capture_stable(WAIT).await.unwrap();
    assert_eq!(captured.reading.grams.unwrap().value(), Decimal::new(42_125, 3));
    assert!(balance.watch().borrow().seq > 50, "the stream did not flood");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_finds_each_family_and_its_identity() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (Protocol::MtSics, false, Some("SIM0001")),
        (Protocol::And, false, Some("SIM0001")),
        (Protocol::Ohaus, false, Some("SIM0001")),
        (Protocol::SartoriusSbi, false, Some("SIM0001")),
        (Protocol::Kern, false, None),
        (Protocol::Radwag, false, Some("SIM0001")),
        (Protocol::Shimadzu, true, None),
        (Protocol::Vibra, true, None),
    ];
    let mut tasks = Vec::new();
    for (protocol, streaming, serial) in cases {
        let mut config = sim_config(protocol, dir.path());
        config.streaming = streaming;
        let sim = SimBalance::start(config).await.unwrap();
        tasks.push(tokio::spawn(async move {
            let report = probe::probe(sim.path(), Duration::from_millis(120)).await.unwrap();
            let report = report.unwrap_or_else(|| panic!("{protocol}: nothing found"));
            assert_eq!(report.protocol, protocol);
            assert_eq!(report.streaming, streaming, "{protocol}");
            assert_eq!(report.identity.serial.as_deref(), serial, "{protocol}");
            assert!(report.sample.number.is_some(), "{protocol}");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_through_the_driver_names_the_balance_and_gives_the_port_back() {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimBalance::start(sim_config(Protocol::MtSics, dir.path())).await.unwrap();
    let balance = Balance::spawn(driver_config(Protocol::MtSics, sim.path())).unwrap();
    reaches(&balance, |s| *s == ConnectionState::Connected).await;

    let mut states = balance.watch();
    let saw_probing = tokio::spawn(async move {
        let probing = states.wait_for(|v| v.state == ConnectionState::Probing);
        tokio::time::timeout(WAIT, probing).await.is_ok()
    });
    let report = balance.probe(Duration::from_millis(300)).await.unwrap().unwrap();
    assert_eq!(report.protocol, Protocol::MtSics);
    assert_eq!(report.serial.baud, 9600);
    assert!(saw_probing.await.unwrap(), "the view showed the port being probed");

    // The driver opened the port again with its own settings and weighs as before.
    reaches(&balance, |s| *s == ConnectionState::Connected).await;
    sim.place(Decimal::new(3_210, 3)).await.unwrap();
    let mut view = balance.watch();
    let loaded =
        view.wait_for(|v| v.latest.as_ref().and_then(|r| r.number).is_some_and(|n| !n.is_zero()));
    tokio::time::timeout(WAIT, loaded).await.unwrap().unwrap();
    let captured = balance.capture_stable(WAIT).await.unwrap();
    assert_eq!(captured.reading.grams.map(|g| g.value()), Some(Decimal::new(3_210, 3)));
}
