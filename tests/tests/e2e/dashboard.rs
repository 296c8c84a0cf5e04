//! The manager dashboard in a real headless Chromium against a real gateway (the demo
//! workshop, SQLite, the embedded broker): refused without a session, signing in, the floor
//! board moving live when a bench publishes over MQTT, a job's timeline, a CSV export, signing
//! out; and a screenshot of every page at desktop and phone widths.

use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use serde_json::{Value, json};
use touchstone_model::event::Fact;
use touchstone_tests::bench::Bench;
use touchstone_tests::browser::{Browser, screenshot_dir};
use touchstone_tests::{GatewayProcess, GatewaySetup, wait_for};

/// The demo's dashboard sign-in.
const MANAGER: (&str, &str) = ("manager", "touchstone-demo");

/// A job waiting for its next stage.
struct Waiting {
    job: String,
    stage: String,
    stage_name: String,
    station: String,
    last_seq: u64,
}

/// A job waiting for its next stage, with a station that works it and the station's last
/// sequence number.
async fn waiting_job(gateway: &GatewayProcess) -> anyhow::Result<Waiting> {
    let jobs = gateway.get("/api/v1/jobs").await?;
    let stations: Value =
        serde_json::from_str(include_str!("../../../gateway/demo/stations.json"))?;
    let stages: Value = serde_json::from_str(include_str!("../../../gateway/demo/stages.json"))?;
    let states = gateway.get("/api/v1/stations").await?;
    for job in jobs["jobs"].as_array().context("jobs")? {
        let Some(next) = job["next_stage"].as_str() else { continue };
        if job["in_progress"] == true || job["held"] == true || job["stage"].is_null() {
            continue;
        }
        let Some(station) = stations
            .as_array()
            .context("stations")?
            .iter()
            .find(|s| s["stages"].as_array().is_some_and(|st| st.iter().any(|x| x == next)))
        else {
            continue;
        };
        let station = station["id"].as_str().context("station id")?.to_owned();
        let name = stages
            .as_array()
            .context("stages")?
            .iter()
            .find(|s| s["id"] == next)
            .and_then(|s| s["name"].as_str())
            .context("stage name")?
            .to_owned();
        let last_seq = states["stations"]
            .as_array()
            .context("station states")?
            .iter()
            .find(|s| s["id"] == station.as_str())
            .and_then(|s| s["last_seq"].as_u64())
            .unwrap_or(0);
        return Ok(Waiting {
            job: job["id"].as_str().context("job id")?.to_owned(),
            stage: next.to_owned(),
            stage_name: name,
            station,
            last_seq,
        });
    }
    anyhow::bail!("the demo has no job waiting for a stage")
}

/// The Working count of a stage on the floor board, read from the page.
async fn working(browser: &Browser, stage: &str) -> anyhow::Result<Option<i64>> {
    let script = "const name = arguments[0];\
        for (const tr of document.querySelectorAll('#stages tbody tr')) {\
          if (tr.cells[0].textContent.trim() === name) return Number(tr.cells[1].textContent);\
        }\
        return null;";
    let value = browser.client.execute(script, vec![json!(stage)]).await?;
    Ok(value.as_i64())
}

async fn sign_in(browser: &Browser, user: &str, password: &str) -> anyhow::Result<()> {
    let c = &browser.client;
    for (field, text) in [("username", user), ("password", password)] {
        let input = c.find(Locator::Css(&format!("input[name={field}]"))).await?;
        input.clear().await?;
        input.send_keys(text).await?;
    }
    c.find(Locator::Css("section.login button[type=submit]")).await?.click().await?;
    Ok(())
}

async fn path_is(browser: &Browser, path: &str) -> anyhow::Result<()> {
    let c = browser.client.clone();
    wait_for(&format!("the browser at {path}"), Duration::from_secs(10), async || {
        c.current_url().await.is_ok_and(|u| u.path() == path)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_follows_the_floor_live_in_a_real_browser() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let setup = GatewaySetup { extra_args: vec!["--demo".into()], ..GatewaySetup::default() };
    let gateway = GatewayProcess::start(dir.path().join("gateway"), setup).await?;

    // Nothing answers without a session or a token, except health.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    for path in ["/", "/metal", "/jobs/J-2026-0147", "/live", "/?csv=stages"] {
        let response = http.get(format!("{}{path}", gateway.http)).send().await?;
        assert_eq!(response.status(), 303, "{path} without a session");
        let location = response.headers()["location"].to_str()?.to_owned();
        assert!(location.starts_with("/login?next="), "{path} sends to {location}");
    }
    let api = http.get(format!("{}/api/v1/jobs", gateway.http)).send().await?;
    assert_eq!(api.status(), 401, "the API without its token");

    let browser = Browser::start(1280, 1000).await?;
    let c = browser.client.clone();
    let base = gateway.http.clone();

    // A page asked for before signing in is where the sign-in leads.
    c.goto(&format!("{base}/metal")).await?;
    path_is(&browser, "/login").await?;
    sign_in(&browser, MANAGER.0, "not the password").await?;
    let alert = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("p.alert"));
    let refused = alert.await?.text().await?;
    assert!(refused.contains("do not match"), "{refused}");
    sign_in(&browser, MANAGER.0, MANAGER.1).await?;
    path_is(&browser, "/metal").await?;
    assert_eq!(c.find(Locator::Css("main h1")).await?.text().await?, "Metal");

    // The floor board, connected for live updates.
    c.goto(&format!("{base}/")).await?;
    c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#live.on")).await?;
    let Waiting { job, stage: stage_id, stage_name: stage, station, last_seq } =
        waiting_job(&gateway).await?;
    let before = working(&browser, &stage).await?.context("the stage is on the board")?;
    c.execute("window.notReloaded = true;", vec![]).await?;

    // A bench starts the job's next stage over MQTT; the board follows without a reload.
    let mut bench = Bench::connect(&gateway.mqtt_url, &station).await?;
    bench.continue_after(last_seq);
    let started = bench.event(Some(&job), Fact::StageStarted { stage: stage_id.parse()? });
    bench.publish(&started).await?;
    bench.wait_acked(&[started.id], Duration::from_secs(10)).await?;
    let moved = async || working(&browser, &stage).await.ok().flatten() == Some(before + 1);
    wait_for("the board to show the job working", Duration::from_secs(5), moved).await?;
    let kept = c.execute("return window.notReloaded === true;", vec![]).await?;
    assert_eq!(kept, json!(true), "the page updated in place, not by a reload");

    // The job's timeline ends with the stage just started.
    c.goto(&format!("{base}/jobs/{job}")).await?;
    let last_row = c.find(Locator::Css("#timeline tbody tr:last-child")).await?.text().await?;
    assert!(last_row.contains(&format!("Started {stage}")), "{last_row}");

    // The floor board's CSV, fetched with the browser's own session.
    c.goto(&format!("{base}/")).await?;
    let fetch = "const done = arguments[arguments.length - 1];\
        fetch('/?csv=stages').then(r => r.text()).then(done, e => done('failed: ' + e));";
    let csv = c.execute_async(fetch, vec![]).await?;
    let csv = csv.as_str().context("the CSV as text")?.to_owned();
    let mut lines = csv.lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("Stage,Working,Waiting,On hold,")), "{csv}");
    let row = lines.find(|l| l.starts_with(&format!("{stage},"))).context("the stage's row")?;
    assert_eq!(row.split(',').nth(1), Some((before + 1).to_string().as_str()), "{csv}");

    // Something refused, so the dead letters page has a line to show, and the bench's
    // heartbeat, so the stations page shows it online.
    let topic = touchstone_model::protocol::topics::events(&bench.station);
    bench.publish_raw(&topic, b"{\"v\": 1, \"station\": ".to_vec()).await?;
    let status = json!({
        "v": 1, "station": bench.station.as_str(), "online": true, "backlog": 3,
        "balance": "connected", "balance_detail": "/dev/ttyUSB0", "version": "0.1.0",
    });
    let status_topic = touchstone_model::protocol::topics::status(&bench.station);
    bench.publish_raw(&status_topic, serde_json::to_vec(&status)?).await?;
    let online = async || {
        let stations = gateway.get("/api/v1/stations").await.unwrap_or_default();
        stations["stations"].as_array().is_some_and(|all| all.iter().any(|s| s["online"] == true))
    };
    wait_for("the heartbeat to be stored", Duration::from_secs(5), online).await?;
    screenshots(&browser, &base, &job).await?;

    // Signing out ends the session: the board sends to the sign-in page again.
    c.goto(&format!("{base}/")).await?;
    c.find(Locator::Css("form[action='/logout'] button")).await?.click().await?;
    path_is(&browser, "/login").await?;
    c.goto(&format!("{base}/")).await?;
    path_is(&browser, "/login").await?;
    bench.disconnect().await;
    browser.close().await
}

/// Every page at a laptop's and a phone's width, for the README and for looking at.
async fn screenshots(browser: &Browser, base: &str, job: &str) -> anyhow::Result<()> {
    let dir = screenshot_dir()?;
    let pages = [
        ("floor", "/".to_owned()),
        ("late", "/late".to_owned()),
        ("bottlenecks", "/bottlenecks?days=90".to_owned()),
        ("stations", "/stations".to_owned()),
        ("metal", "/metal?days=90".to_owned()),
        ("job", format!("/jobs/{job}")),
        ("search", "/search?q=nakamura".to_owned()),
        ("dead-letters", "/dead-letters".to_owned()),
    ];
    for (width, height, suffix) in [(1280, 1000, "desktop"), (390, 1200, "phone")] {
        browser.viewport(width, height).await?;
        for (name, path) in &pages {
            browser.client.goto(&format!("{base}{path}")).await?;
            browser.client.find(Locator::Css("main h1")).await?;
            browser.screenshot(&dir.join(format!("{name}-{suffix}.png"))).await?;
        }
    }
    browser.client.goto(&format!("{base}/")).await?;
    Ok(())
}
