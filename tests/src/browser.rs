//! A real headless Chromium for the dashboard's browser tests, driven over WebDriver: Debian's
//! `chromium` and `chromium-driver`, with ChromeDriver started on a free port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::{free_port, wait_for};

/// Where Debian puts the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// ChromeDriver and one browser session; both end when this is dropped.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a `width` x `height` window.
    pub async fn start(width: u32, height: u32) -> anyhow::Result<Browser> {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            if !Path::new(path).exists() {
                bail!("{path} is missing: apt-get install {package}");
            }
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        wait_for("chromedriver", Duration::from_secs(20), async || {
            reqwest::get(&status).await.is_ok_and(|r| r.status().is_success())
        })
        .await?;
        let profile = tempfile::tempdir()?;
        // The closed network refuses Chromium's background connections; these flags stop it
        // making them, and a fresh profile keeps runs apart.
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            "--force-device-scale-factor=1".into(),
            "--lang=en-GB".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            bail!("capabilities are a JSON object");
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .context("opening a Chromium session")?;
        Ok(Browser { client, driver, _profile: profile })
    }

    /// Resizes the window so that the page's viewport is `width` x `height`.
    pub async fn viewport(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.client.set_window_size(width, height).await?;
        // The window includes the browser's frame; grow it by the difference once.
        let inner =
            self.client.execute("return [window.innerWidth, window.innerHeight];", vec![]).await?;
        let dx = i64::from(width) - inner[0].as_i64().unwrap_or(i64::from(width));
        let dy = i64::from(height) - inner[1].as_i64().unwrap_or(i64::from(height));
        if dx != 0 || dy != 0 {
            let w = u32::try_from(i64::from(width) + dx).unwrap_or(width);
            let h = u32::try_from(i64::from(height) + dy).unwrap_or(height);
            self.client.set_window_size(w, h).await?;
        }
        Ok(())
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let png = self.client.screenshot().await?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let result = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        result.context("closing the browser")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where the dashboard's screenshots go: the repository's `docs/screenshots` when
/// `UPDATE_SCREENSHOTS` is set, else a folder under the target directory, so every run takes
/// them and only a deliberate one changes the documentation.
pub fn screenshot_dir() -> anyhow::Result<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        repo.join("docs/screenshots")
    } else {
        repo.join("target/screenshots")
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
