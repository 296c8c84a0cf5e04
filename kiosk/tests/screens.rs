//! The real kiosk app driven through its screens by label, as a worker would: badge, envelope,
//! start, weighing on a virtual balance behind a real pseudo-terminal, finish, a refused
//! stone, a supervisor's override, and an offline period with a real gateway. Each flow
//! checks what the journal recorded, not only what the screen says, and keeps PNG snapshots
//! of the main screens in `tests/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites them).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use rust_decimal::Decimal;
use touchstone_kiosk::app::{AppOptions, Clock, KioskApp};
use touchstone_kiosk::bench::Screen;
use touchstone_kiosk::config::StationConfig;
use touchstone_kiosk::demo_data;
use touchstone_kiosk::station::{self, DiskSpace, Stopper};
use touchstone_kiosk::ui::{Demo, demo_codes};
use touchstone_model::event::Fact;
use touchstone_scales::sim::{SimBalance, SimConfig};
use touchstone_scales::{DriverConfig, Protocol};
use touchstone_tests::{GatewayProcess, GatewaySetup, free_port};

const MEI: &str = "B-10425";
const HANNAH: &str = "B-20101";

/// A kiosk at the setting bench with a virtual MT-SICS balance.
struct Rig {
    harness: Harness<'static, KioskApp>,
    sim: Arc<SimBalance>,
    stopper: Option<Stopper>,
    runtime: tokio::runtime::Runtime,
    _disk: tokio::sync::watch::Sender<Option<DiskSpace>>,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// `broker` is where the uplink connects; nothing needs to listen there.
    fn start(broker: &str, demo_strip: bool) -> Rig {
        Rig::sized(broker, demo_strip, egui::Vec2::new(1024.0, 600.0))
    }

    fn sized(broker: &str, demo_strip: bool, size: egui::Vec2) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = StationConfig::from_toml(&format!(
            "station = \"setting-1\"\ndata_dir = \"{}\"\nheartbeat_secs = 1\n\
             [broker]\nurl = \"{broker}\"\n",
            dir.path().join("bench").display()
        ))
        .unwrap();
        let (sim, running) = runtime.block_on(async {
            let sim = SimBalance::start(SimConfig::new(Protocol::MtSics, dir.path().join("pty")))
                .await
                .unwrap();
            let driver = DriverConfig::new(sim.path(), Protocol::MtSics);
            let running = station::start(&config, Some(driver), "test").await.unwrap();
            (Arc::new(sim), running)
        });
        // The workshop as the gateway would have published it an hour before the clock.
        let clock = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        let master = demo_data::master_data(clock - chrono::Duration::hours(1)).unwrap();
        let codes = demo_codes(&master, &config.station);
        running.station.cache.replace(master);
        let demo = demo_strip.then(|| Demo {
            codes,
            loads: vec![Decimal::new(10_000, 3)],
            balance: Some((sim.clone(), runtime.handle().clone())),
        });
        let options = AppOptions {
            idle_signout: Duration::from_secs(600),
            scan_gap: Duration::from_millis(50),
            scan_min_len: 4,
            clock: Clock::Fixed(clock),
            version: "test".into(),
            demo,
        };
        let station::Running { mut station, outcomes, stopper } = running;
        // The disk's real free space would put a low-disk warning in the header of every
        // snapshot on a full machine; the warning has tests of its own.
        let (disk, disk_rx) = tokio::sync::watch::channel(Some(DiskSpace {
            free: 20_000_000_000,
            total: 32_000_000_000,
        }));
        station.disk = disk_rx;
        let app = {
            let _guard = runtime.enter();
            KioskApp::new(station, outcomes, options)
        };
        // The harness hands queued events over one frame at a time; 5 ms frames make typed
        // codes arrive as fast as a scanner types them.
        let harness = Harness::builder()
            .with_size(size)
            .with_step_dt(0.005)
            .with_render_cursor(false)
            .build_ui_state(|ui, app: &mut KioskApp| app.show(ui), app);
        let mut rig = Rig { harness, sim, stopper: Some(stopper), runtime, _disk: disk, _dir: dir };
        rig.until("the balance reads zero", |app| {
            app.station()
                .balance_view()
                .and_then(|v| v.latest)
                .is_some_and(|r| r.is_stable_weight())
        });
        // Every rig's broker is down at first; the header shows that, not "Connecting".
        rig.until("the bench to see it is offline", |app| {
            matches!(
                *app.station().link.borrow(),
                touchstone_kiosk::uplink::LinkState::Offline { .. }
            )
        });
        rig
    }

    /// Types a code the way a keyboard-mode scanner does and presses Enter.
    fn scan(&mut self, code: &str) {
        self.harness.event(egui::Event::Text(code.to_owned()));
        self.harness.key_press(egui::Key::Enter);
        self.harness.step();
        self.settle();
    }

    fn click(&mut self, label: &str) {
        self.harness.get_by_label(label).click();
        self.harness.step();
        self.settle();
    }

    /// Steps until nothing is being saved.
    fn settle(&mut self) {
        self.until("the journal write", |app| !app.bench().is_saving());
    }

    fn until(&mut self, what: &str, done: impl Fn(&KioskApp) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.harness.step();
            if done(self.harness.state()) {
                // One more frame so the screen shows the new state.
                self.harness.step();
                self.harness.step();
                return;
            }
            let app = self.harness.state();
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen {:?}, banner {:?}",
                app.bench().screen(),
                app.bench().banner()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn place(&self, grams: &str) {
        let sim = self.sim.clone();
        let grams: Decimal = grams.parse().unwrap();
        self.runtime.block_on(async move { sim.place(grams).await.unwrap() });
    }

    fn wait_stable(&mut self, value: &str) {
        let value = value.to_owned();
        self.until(&format!("a stable {value} g"), move |app| {
            app.station()
                .balance_view()
                .and_then(|v| v.latest)
                .is_some_and(|r| r.is_stable_weight() && r.value.as_deref() == Some(value.as_str()))
        });
    }

    /// The fact types in the journal, oldest first.
    fn facts(&self) -> Vec<String> {
        let journal = self.harness.state().station().journal.clone();
        let mut entries = self.runtime.block_on(journal.recent(1000)).unwrap();
        entries.reverse();
        entries.into_iter().map(|e| e.event.fact.type_name().to_owned()).collect()
    }

    fn journal_facts(&self) -> Vec<Fact> {
        let journal = self.harness.state().station().journal.clone();
        let mut entries = self.runtime.block_on(journal.recent(1000)).unwrap();
        entries.reverse();
        entries.into_iter().map(|e| e.event.fact).collect()
    }

    fn snapshot(&mut self, name: &str) {
        self.harness.step();
        self.harness.snapshot(name);
    }

    fn stop(mut self) {
        if let Some(stopper) = self.stopper.take() {
            self.runtime.block_on(stopper.shutdown());
        }
    }
}

/// A broker address where nothing listens.
fn nowhere() -> String {
    format!("mqtt://127.0.0.1:{}", free_port())
}

#[test]
fn a_stage_from_badge_to_finish_with_real_weighings() {
    let mut rig = Rig::start(&nowhere(), false);
    rig.snapshot("sign-in");
    assert!(rig.harness.query_by_label("Scan your badge").is_some());

    rig.scan(MEI);
    assert!(rig.harness.query_by_label("Mei Tanaka (worker)").is_some(), "signed in");
    rig.scan("J-2026-0147");
    assert_eq!(rig.harness.state().bench().screen(), &Screen::Job);
    assert!(rig.harness.query_by_label("LATE: due 01 Dec").is_some());
    rig.snapshot("job");

    // Issue: the load is placed and the capture asked for at once, while the balance is
    // still settling. Nothing is recorded until the balance says it is stable.
    rig.click("Weigh issue");
    rig.snapshot("weighing");
    rig.place("10.000");
    // The first line of the new load, still settling: a line of the empty pan from before
    // could otherwise be the one the capture sees.
    rig.until("the load on the pan", |app| {
        app.station()
            .balance_view()
            .and_then(|v| v.latest)
            .and_then(|r| r.number)
            .is_some_and(|n| !n.is_zero())
    });
    rig.click("Take weight");
    let facts_while_settling = rig.facts();
    assert_eq!(facts_while_settling, ["signed_in"], "nothing recorded while unstable");
    rig.until("the issue weighing", |app| {
        app.bench().banner().is_some_and(|b| b.text == "Saved: issue 10.000 g")
    });
    let Fact::WeightRecorded(issue) = &rig.journal_facts()[1] else { panic!("no weighing") };
    assert_eq!(issue.grams.to_string(), "10.000 g");
    assert_eq!(issue.value, "10.000");
    assert!(issue.raw.starts_with("S S"), "the raw MT-SICS reply is kept: {}", issue.raw);
    assert_eq!(issue.balance.serial.as_deref(), Some("SIM0001"));

    // Receipt inside the band: recorded at once, the loss shown in green words.
    rig.click("Weigh receipt");
    rig.place("9.980");
    rig.wait_stable("9.980");
    rig.click("Take weight");
    rig.until("the receipt weighing", |app| {
        app.bench().banner().is_some_and(|b| b.text == "Saved: receipt 9.980 g")
    });
    assert!(
        rig.harness.query_by_label_contains("Loss 0.020 g").is_some(),
        "the card shows the loss against the issue"
    );
    rig.snapshot("job-after-receipt");

    rig.click("Finish stage");
    assert_eq!(rig.facts(), ["signed_in", "weight_recorded", "weight_recorded", "stage_finished"]);
    rig.stop();
}

#[test]
fn a_stone_of_another_job_is_refused_and_a_supervisor_allows_a_wrong_stage() {
    let mut rig = Rig::start(&nowhere(), true);
    rig.scan(MEI);
    rig.scan("J-2026-0147");
    // ST-40140 is reserved for J-2026-0162.
    rig.scan("ST-40140");
    assert!(rig.harness.query_by_label("Wrong stone").is_some());
    rig.snapshot("refused-stone");
    // A supervisor's badge does not allow it: a stone of another job is never issued.
    rig.scan(HANNAH);
    assert_eq!(rig.facts(), ["signed_in"]);
    rig.click("OK");

    // J-2026-0169 as if it had just finished assembly: setting is next, and starts at once.
    let mut master = rig.harness.state().station().cache.read().clone();
    let next: touchstone_model::ids::JobId = "J-2026-0169".parse().unwrap();
    master.jobs.get_mut(&next).unwrap().progress.in_progress = false;
    rig.harness.state().station().cache.replace(master);
    rig.scan("J-2026-0169");
    rig.click("Start Stone setting");
    assert_eq!(rig.facts(), ["signed_in", "stage_started"]);
    assert!(rig.harness.query_by_label("Saved: stage started").is_some());
    rig.click("Close job");

    // J-2026-0167 has not started its route: starting setting here is refused...
    rig.scan("J-2026-0167");
    rig.click("Start Stone setting");
    assert!(rig.harness.query_by_label("Not at this stage").is_some());
    assert_eq!(rig.facts().len(), 2, "nothing recorded for the refusal");
    // ...until a supervisor's badge allows it, recorded as its own event first.
    rig.scan(HANNAH);
    assert_eq!(rig.facts()[2..], ["override", "stage_started"]);
    assert!(rig.harness.query_by_label("Allowed by Hannah Weber").is_some());
    rig.snapshot("after-override");

    // An unknown barcode says so and records nothing.
    rig.scan("NOT-A-CODE");
    assert!(rig.harness.query_by_label("Unknown barcode").is_some());
    assert_eq!(rig.facts().len(), 4);
    rig.click("OK");
    rig.stop();
}

#[test]
fn the_smallest_bench_screen_keeps_every_action_in_reach() {
    let mut rig = Rig::sized(&nowhere(), false, egui::Vec2::new(800.0, 480.0));
    rig.scan(MEI);
    rig.scan("J-2026-0147");
    rig.snapshot("job-800x480");
    for label in ["Weigh issue", "Weigh receipt", "Scrap return", "Finish stage", "Hold", "Note"] {
        let node = rig.harness.get_by_label(label);
        let rect = node.rect();
        assert!(rect.max.y <= 480.0 && rect.max.x <= 800.0, "{label} is off screen: {rect:?}");
        assert!(rect.height() >= 64.0, "{label} is too small for a gloved finger: {rect:?}");
    }
    rig.stop();
}

#[test]
fn a_static_screen_is_not_repainted_while_the_balance_repeats_itself() {
    let mut rig = Rig::start(&nowhere(), false);
    rig.harness.step();
    // The balance answers a poll five times a second with the same stable zero.
    let before = rig.harness.state().station().wakes();
    let seq_before = rig.harness.state().station().balance_view().map(|v| v.seq).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let seq_after = rig.harness.state().station().balance_view().map(|v| v.seq).unwrap();
    assert!(seq_after >= seq_before + 4, "the balance kept answering: {seq_before} -> {seq_after}");
    assert_eq!(rig.harness.state().station().wakes(), before, "nothing changed on screen");
    // A new weight does wake it.
    rig.place("3.500");
    rig.wait_stable("3.500");
    assert!(rig.harness.state().station().wakes() > before);
    rig.stop();
}

#[test]
fn offline_work_is_kept_and_confirmed_once_the_gateway_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let setup = GatewaySetup { extra_args: vec!["--demo".into()], ..Default::default() };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut gateway = rt.block_on(GatewayProcess::start(dir.path().join("gw"), setup)).unwrap();
    gateway.kill().unwrap();

    let mut rig = Rig::start(&gateway.mqtt_url, false);
    rig.scan(MEI);
    rig.scan("J-2026-0147");
    rig.click("Note");
    rig.click("Porosity found");
    assert_eq!(rig.harness.state().station().journal.stats().backlog, 2, "sign-in and note");
    assert!(rig.harness.query_by_label("2 waiting to send").is_some());
    rig.snapshot("offline");

    rt.block_on(gateway.restart()).unwrap();
    rig.until("the backlog to drain", |app| app.station().journal.stats().backlog == 0);
    assert!(rig.harness.query_by_label("All saved centrally").is_some());
    let page = rt.block_on(gateway.get("/api/v1/jobs/J-2026-0147/timeline")).unwrap();
    let text = page.to_string();
    assert_eq!(text.matches("Porosity found").count(), 1, "stored once: {text}");
    rig.stop();
}
