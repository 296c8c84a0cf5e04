//! The gateway's configuration: command-line flags over an optional TOML file over defaults,
//! merged once at start into a validated [`Config`].
//!
//! Errors name the flag or key at fault. [`Config`]'s `Display` is the effective
//! configuration with secrets removed, logged at start.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;

use crate::store::{Store, redact_url};

/// Flags shared by every subcommand. Each may also be set in the config file under the same
/// name with dashes turned into underscores.
#[derive(Debug, Clone, Default, Args)]
pub struct Options {
    /// A TOML file with any of the settings below; flags override it.
    #[arg(long, global = true, env = "TOUCHSTONE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the SQLite database and the API token live.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://...` or `postgres://user:password@host/db`; SQLite under the data dir when absent.
    #[arg(long, global = true, env = "TOUCHSTONE_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// An external broker, `mqtt://` or `mqtts://`, with `user:password@` if it needs them.
    /// Without it the gateway runs its own embedded broker.
    #[arg(
        long,
        global = true,
        env = "TOUCHSTONE_BROKER",
        value_name = "URL",
        conflicts_with = "mqtt_listen"
    )]
    pub broker: Option<String>,
    /// Where the embedded broker listens.
    #[arg(long, global = true, value_name = "ADDR")]
    pub mqtt_listen: Option<SocketAddr>,
    /// Where the HTTP API listens.
    #[arg(long, global = true, value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,
    /// The bearer token the API requires; generated into the data dir when absent.
    #[arg(
        long,
        global = true,
        env = "TOUCHSTONE_API_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub api_token: Option<String>,
    /// Load the demo workshop at start when the store has no jobs yet.
    #[arg(long, global = true)]
    pub demo: bool,
    /// The most events committed in one transaction.
    #[arg(long, global = true, value_name = "N")]
    pub batch_max: Option<usize>,
    /// Mark the dashboard's session cookies Secure: set this when it is reached over HTTPS
    /// (a reverse proxy in front of the gateway).
    #[arg(long, global = true)]
    pub secure_cookies: bool,
}

/// The config file's shape: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database: Option<String>,
    broker: Option<String>,
    mqtt_listen: Option<SocketAddr>,
    http_listen: Option<SocketAddr>,
    api_token: Option<String>,
    demo: Option<bool>,
    batch_max: Option<usize>,
    secure_cookies: Option<bool>,
}

/// How the gateway reaches MQTT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mqtt {
    /// Start an embedded broker listening here and connect to it.
    Embedded {
        /// The broker's address.
        listen: SocketAddr,
    },
    /// Connect to an external broker.
    External {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// Whether to use TLS (`mqtts://`).
        tls: bool,
        /// User name and password, if given.
        credentials: Option<(String, String)>,
    },
}

/// The effective, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database: String,
    /// MQTT connection.
    pub mqtt: Mqtt,
    /// HTTP address.
    pub http_listen: SocketAddr,
    /// API token, if configured (otherwise generated at start).
    pub api_token: Option<String>,
    /// Load the demo data when the store is empty.
    pub demo: bool,
    /// Events per transaction at most.
    pub batch_max: usize,
    /// Session cookies are marked Secure.
    pub secure_cookies: bool,
}

impl Config {
    /// Merges flags over the config file (if any) over defaults, and validates the result.
    pub fn load(options: &Options) -> anyhow::Result<Config> {
        let file = match &options.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir =
            options.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("data"));
        let database = options
            .database
            .clone()
            .or(file.database)
            .unwrap_or_else(|| Store::sqlite_url(&data_dir));
        if !(database.starts_with("sqlite:")
            || database.starts_with("postgres:")
            || database.starts_with("postgresql:"))
        {
            bail!("database: `{}` must be a sqlite: or postgres:// URL", redact_url(&database));
        }
        let mqtt = match options.broker.clone().or(file.broker) {
            Some(url) => {
                parse_broker(&url).with_context(|| format!("broker: `{}`", redact_url(&url)))?
            }
            None => Mqtt::Embedded {
                listen: options
                    .mqtt_listen
                    .or(file.mqtt_listen)
                    .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 1883))),
            },
        };
        let batch_max = options.batch_max.or(file.batch_max).unwrap_or(1000);
        if batch_max == 0 {
            bail!("batch_max: must be at least 1");
        }
        Ok(Config {
            data_dir,
            database,
            mqtt,
            http_listen: options
                .http_listen
                .or(file.http_listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            api_token: options.api_token.clone().or(file.api_token).filter(|t| !t.is_empty()),
            demo: options.demo || file.demo.unwrap_or(false),
            batch_max,
            secure_cookies: options.secure_cookies || file.secure_cookies.unwrap_or(false),
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

/// Parses `mqtt://[user:password@]host[:port]` or `mqtts://...`.
pub fn parse_broker(text: &str) -> anyhow::Result<Mqtt> {
    let url = url::Url::parse(text).context("not a URL")?;
    let tls = match url.scheme() {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" => true,
        other => bail!("scheme `{other}` is not mqtt:// or mqtts://"),
    };
    let host = url.host_str().filter(|h| !h.is_empty()).context("no host")?.to_owned();
    let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
    let credentials = match (url.username(), url.password()) {
        ("", None) => None,
        (user, password) => Some((decode(user)?, decode(password.unwrap_or(""))?)),
    };
    Ok(Mqtt::External { host, port, tls, credentials })
}

fn decode(text: &str) -> anyhow::Result<String> {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8();
    Ok(decoded.context("credentials are not valid UTF-8 after percent-decoding")?.into_owned())
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "data_dir={} database={} ", self.data_dir.display(), redact_url(&self.database))?;
        match &self.mqtt {
            Mqtt::Embedded { listen } => write!(f, "mqtt=embedded({listen}) ")?,
            Mqtt::External { host, port, tls, credentials } => {
                let scheme = if *tls { "mqtts" } else { "mqtt" };
                let user =
                    credentials.as_ref().map(|(u, _)| format!("{u}:****@")).unwrap_or_default();
                write!(f, "mqtt={scheme}://{user}{host}:{port} ")?;
            }
        }
        let token = if self.api_token.is_some() { "set" } else { "generated" };
        write!(
            f,
            "http={} api_token={token} demo={} batch_max={} secure_cookies={}",
            self.http_listen, self.demo, self.batch_max, self.secure_cookies
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_everything_locally() {
        let config = Config::load(&Options::default()).unwrap();
        assert_eq!(config.mqtt, Mqtt::Embedded { listen: "127.0.0.1:1883".parse().unwrap() });
        assert!(config.database.starts_with("sqlite://data"));
        assert_eq!(config.http_listen, "127.0.0.1:8080".parse().unwrap());
    }

    #[test]
    fn broker_urls_parse_with_credentials() {
        let parsed = parse_broker("mqtts://gw:p%40ss@broker.local").unwrap();
        assert_eq!(
            parsed,
            Mqtt::External {
                host: "broker.local".into(),
                port: 8883,
                tls: true,
                credentials: Some(("gw".into(), "p@ss".into()))
            }
        );
        assert!(parse_broker("http://x").is_err());
        assert!(parse_broker("mqtt://").is_err());
    }

    #[test]
    fn effective_config_hides_secrets() {
        let options = Options {
            database: Some("postgres://ts:hunter2@db/ts".into()),
            broker: Some("mqtt://gw:hunter3@broker:1884".into()),
            api_token: Some("hunter4".into()),
            ..Options::default()
        };
        let shown = Config::load(&options).unwrap().to_string();
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(shown.contains("mqtt=mqtt://gw:****@broker:1884"), "{shown}");
    }

    #[test]
    fn wrong_config_file_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, "http_listen = \"not an address\"\n").unwrap();
        let options = Options { config: Some(path.clone()), ..Options::default() };
        let err = format!("{:#}", Config::load(&options).unwrap_err());
        assert!(err.contains("http_listen"), "{err}");

        std::fs::write(&path, "colour = \"red\"\n").unwrap();
        let err = format!("{:#}", Config::load(&options).unwrap_err());
        assert!(err.contains("unknown field `colour`"), "{err}");

        let options = Options { database: Some("mysql://x".into()), ..Options::default() };
        let err = format!("{:#}", Config::load(&options).unwrap_err());
        assert!(err.contains("database"), "{err}");
    }
}
