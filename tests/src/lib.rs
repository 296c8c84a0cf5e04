//! Real components for Touchstone's end-to-end tests and benchmarks: a Mosquitto broker and a
//! PostgreSQL server started on free ports in temporary folders, the gateway as a separate
//! process (so a test can kill it with SIGKILL), and a bench-like MQTT client.
//!
//! Nothing here assumes a fixed port or a server already running. The servers come from
//! Debian's `mosquitto` and `postgresql` packages; a missing one fails the test with a message
//! saying what to install.

pub mod bench;
pub mod browser;
pub mod cpu;
pub mod servers;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// Waits until `check` returns true, polling, or fails after `timeout` saying `what`.
pub async fn wait_for(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("timed out after {timeout:?} waiting for {what}")
}

/// The gateway binary of this checkout. Cargo does not rebuild another package's binaries for
/// this crate's tests, so the first call runs `cargo build` for it (a no-op when up to date):
/// testing a stale gateway would prove nothing.
pub fn gateway_binary() -> anyhow::Result<PathBuf> {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| build_gateway().map_err(|err| format!("{err:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build_gateway() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test binary")?;
    // Test binaries live in target/<profile>/deps; binaries one folder up.
    let profile_dir = exe.parent().and_then(|p| p.parent()).context("unexpected target layout")?;
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.args(["build", "--quiet", "-p", "touchstone-gateway", "--bin", "touchstone-gateway"]);
    // Cargo describes the test's own package in the environment it runs the test in. Build
    // scripts that read those variables (ring's reads CARGO_MANIFEST_DIR) would see another
    // package than in a plain build and rebuild, then rebuild again at the next plain build.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("CARGO_PKG_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
            )
        {
            cargo.env_remove(name);
        }
    }
    if profile_dir.ends_with("release") {
        cargo.arg("--release");
    }
    let status = cargo.status().context("running cargo build for the gateway")?;
    let binary = profile_dir.join("touchstone-gateway");
    if !status.success() || !binary.exists() {
        bail!("could not build {}", binary.display());
    }
    Ok(binary)
}

/// Where the gateway under test gets its database and broker.
#[derive(Debug, Clone, Default)]
pub struct GatewaySetup {
    /// `--database`; SQLite in the data dir when `None`.
    pub database: Option<String>,
    /// `--broker`; the embedded broker on a free port when `None`.
    pub broker: Option<String>,
    /// Any further flags.
    pub extra_args: Vec<String>,
}

/// The gateway running as a child process.
pub struct GatewayProcess {
    child: Child,
    /// Its data directory (kept across restarts).
    pub data_dir: PathBuf,
    /// Its HTTP address.
    pub http: String,
    /// The MQTT URL benches use.
    pub mqtt_url: String,
    /// The API token.
    pub token: String,
    setup: GatewaySetup,
    mqtt_port: u16,
    http_port: u16,
}

/// The API token every test gateway uses.
pub const TEST_TOKEN: &str = "test-token-0123456789";

impl GatewayProcess {
    /// Starts the gateway and waits until `/health` answers 200.
    pub async fn start(data_dir: PathBuf, setup: GatewaySetup) -> anyhow::Result<GatewayProcess> {
        let mqtt_port = free_port();
        let http_port = free_port();
        let mut gateway = GatewayProcess {
            child: spawn_gateway(&data_dir, &setup, mqtt_port, http_port)?,
            mqtt_url: setup.broker.clone().unwrap_or(format!("mqtt://127.0.0.1:{mqtt_port}")),
            http: format!("http://127.0.0.1:{http_port}"),
            token: TEST_TOKEN.into(),
            data_dir,
            setup,
            mqtt_port,
            http_port,
        };
        gateway.wait_healthy().await?;
        Ok(gateway)
    }

    /// Starts the gateway again on the same ports and data after it stopped.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.child = spawn_gateway(&self.data_dir, &self.setup, self.mqtt_port, self.http_port)?;
        self.wait_healthy().await
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let url = format!("{}/health", self.http);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("gateway exited during start with {status}");
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("gateway did not become healthy at {url}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the gateway with SIGKILL: no chance to flush or say goodbye.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().context("killing the gateway")?;
        self.child.wait()?;
        Ok(())
    }

    /// Asks the gateway to stop with SIGTERM and waits for it to exit.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().context("sending SIGTERM")?;
        Ok(self.child.wait()?)
    }

    /// GETs an API path (with the token) and parses the JSON answer.
    pub async fn get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.http))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            bail!("GET {path}: {status}: {body}");
        }
        Ok(serde_json::from_str(&body)?)
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_gateway(
    data_dir: &std::path::Path,
    setup: &GatewaySetup,
    mqtt_port: u16,
    http_port: u16,
) -> anyhow::Result<Child> {
    let mut command = Command::new(gateway_binary()?);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
        .args(["--api-token", TEST_TOKEN])
        .env("RUST_LOG", std::env::var("TEST_GATEWAY_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null());
    match &setup.broker {
        Some(url) => command.args(["--broker", url]),
        None => command.args(["--mqtt-listen", &format!("127.0.0.1:{mqtt_port}")]),
    };
    if let Some(database) = &setup.database {
        command.args(["--database", database]);
    }
    command.args(&setup.extra_args);
    command.spawn().context("starting the gateway")
}
