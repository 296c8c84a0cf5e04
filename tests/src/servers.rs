//! Mosquitto and PostgreSQL servers for tests, each in its own temporary folder on a free
//! port, stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;

use crate::{free_port, wait_for};

/// A Mosquitto broker.
pub struct Mosquitto {
    child: Child,
    _dir: TempDir,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl Mosquitto {
    /// Starts Mosquitto with room for the gateway's batches and for large queued backlogs.
    pub async fn start() -> anyhow::Result<Mosquitto> {
        let dir = tempfile::tempdir()?;
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        // max_inflight_messages bounds how many unacknowledged messages the broker sends the
        // gateway, and so the size of a batch: twice the gateway's default batch, as the README
        // advises, so the next batch arrives while one commits. The queue holds a stopped
        // gateway's backlog.
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                 max_inflight_messages 2000\nmax_queued_messages 500000\nmax_queued_bytes 0\n\
                 log_dest stderr\nlog_type error\n"
            ),
        )?;
        let child = Command::new(mosquitto_binary()?)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting mosquitto")?;
        let server = Mosquitto { child, _dir: dir, port };
        wait_for("mosquitto to listen", Duration::from_secs(10), async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await?;
        Ok(server)
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mosquitto_binary() -> anyhow::Result<PathBuf> {
    for candidate in ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"] {
        if Path::new(candidate).exists() {
            return Ok(candidate.into());
        }
    }
    bail!("mosquitto is not installed (apt-get install mosquitto)")
}

/// A PostgreSQL server in a fresh cluster.
pub struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl Postgres {
    /// Creates a cluster and starts the server.
    pub async fn start() -> anyhow::Result<Postgres> {
        let bin = postgres_bin_dir()?;
        let dir = tempfile::tempdir()?;
        let port = free_port();
        let server = Postgres { dir, bin, port };
        // initdb refuses to run as root, so as root the cluster belongs to `postgres`.
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(server.dir.path()))?;
        }
        let data = server.data_dir();
        run(server.as_owner(&server.bin.join("initdb")).args([
            "-D",
            &data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]))?;
        server.start_again().await?;
        Ok(server)
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn as_owner(&self, program: &Path) -> Command {
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// Starts the server (after [`Postgres::stop`]) and waits until it accepts connections.
    pub async fn start_again(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        run(self.as_owner(&self.bin.join("pg_ctl")).args([
            "-D",
            &self.data_dir(),
            "-l",
            &log,
            "-o",
            &options,
            "-w",
            "start",
        ]))?;
        let port = self.port;
        wait_for("postgres to accept connections", Duration::from_secs(30), async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await
    }

    /// Stops the server immediately, as a crash or an operator would.
    pub fn stop(&self) -> anyhow::Result<()> {
        run(self.as_owner(&self.bin.join("pg_ctl")).args([
            "-D",
            &self.data_dir(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]))
    }

    /// Creates a database and returns its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        use sqlx::Connection;
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = sqlx::PgConnection::connect(&admin).await?;
        let sql = format!("CREATE DATABASE \"{name}\"");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
        Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", self.port))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().context("PostgreSQL is not installed (apt-get install postgresql)")
}
