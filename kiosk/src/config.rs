//! The station's TOML file: read once at start, validated, turned into typed settings.
//!
//! Reading happens in two steps. serde checks the shape (unknown keys and wrong types are
//! refused with the line they are on); [`StationConfig::from_toml`] then checks every value
//! and names the key of the first one that is wrong, e.g. `balance.baud: must be one of ...`.
//! Nothing here opens a port or a socket.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use touchstone_model::ids::StationId;
use touchstone_scales::Protocol;
use touchstone_scales::driver::{
    DataBits, DriverConfig, FlowControl, Mode, Parity, SerialSettings, StopBits,
};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not have the expected shape (syntax, unknown key, wrong type).
    #[error("{0}")]
    Syntax(String),
    /// A value is out of range or malformed.
    #[error("{key}: {reason}")]
    Invalid {
        /// The dotted key, e.g. `balance.baud`.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, reason: reason.into() }
}

/// Where the broker is and how to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSettings {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether to use TLS (`mqtts://`).
    pub tls: bool,
    /// User name and password, if the broker wants them.
    pub credentials: Option<(String, String)>,
}

impl BrokerSettings {
    /// Parses `mqtt://host[:port]` or `mqtts://host[:port]`.
    pub fn parse(text: &str) -> Result<BrokerSettings, String> {
        let url = url::Url::parse(text).map_err(|err| format!("`{text}` is not a URL: {err}"))?;
        let tls = match url.scheme() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => return Err(format!("scheme `{other}` is not mqtt:// or mqtts://")),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("the URL has no host")?;
        let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
        Ok(BrokerSettings { host: host.to_owned(), port, tls, credentials: None })
    }
}

/// How barcodes reach the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerSettings {
    /// A scanner that types like a keyboard; scans are told from typing by their speed.
    Keyboard {
        /// Longest gap between two keys of one scan.
        max_gap: Duration,
        /// Fewest characters in a scan.
        min_len: usize,
    },
    /// A scanner on a serial port (USB-serial or RS-232), one code per line.
    Serial {
        /// The port.
        port: PathBuf,
        /// Baud rate.
        baud: u32,
    },
}

/// Which GPIO implementation drives the foot switch, the stack light and the buzzer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpioSettings {
    /// In memory only: the kiosk runs anywhere; the screen shows the light.
    Simulated,
    /// The Raspberry Pi's pins through rppal (BCM numbering).
    Rppal(GpioPins),
}

/// BCM pin numbers on a Raspberry Pi.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpioPins {
    /// Foot switch input, pulled up, pressed pulls it low.
    pub foot_switch: Option<u8>,
    /// Green lamp.
    pub green: Option<u8>,
    /// Amber lamp.
    pub amber: Option<u8>,
    /// Red lamp.
    pub red: Option<u8>,
    /// Buzzer.
    pub buzzer: Option<u8>,
}

/// Everything a station needs, validated.
#[derive(Debug, Clone)]
pub struct StationConfig {
    /// The station's id, also its MQTT identity.
    pub station: StationId,
    /// Where the journal and the cache live.
    pub data_dir: PathBuf,
    /// The broker.
    pub broker: BrokerSettings,
    /// The balance, if one is wired.
    pub balance: Option<DriverConfig>,
    /// The scanner.
    pub scanner: ScannerSettings,
    /// The GPIO backend.
    pub gpio: GpioSettings,
    /// Foot switch debounce time.
    pub debounce: Duration,
    /// Sign the operator out after this long without a touch or scan.
    pub idle_signout: Duration,
    /// Time between status heartbeats.
    pub heartbeat: Duration,
    /// Full screen (the bench) or a window (development).
    pub fullscreen: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    station: String,
    data_dir: Option<PathBuf>,
    idle_signout_secs: Option<u64>,
    heartbeat_secs: Option<u64>,
    fullscreen: Option<bool>,
    broker: RawBroker,
    balance: Option<RawBalance>,
    scanner: Option<RawScanner>,
    gpio: Option<RawGpio>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBroker {
    url: String,
    username: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBalance {
    port: PathBuf,
    protocol: String,
    baud: Option<u32>,
    data_bits: Option<u8>,
    parity: Option<String>,
    stop_bits: Option<u8>,
    flow_control: Option<String>,
    mode: Option<String>,
    poll_ms: Option<u64>,
    serial_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScanner {
    mode: String,
    port: Option<PathBuf>,
    baud: Option<u32>,
    max_gap_ms: Option<u64>,
    min_len: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGpio {
    backend: String,
    foot_switch_pin: Option<u8>,
    green_pin: Option<u8>,
    amber_pin: Option<u8>,
    red_pin: Option<u8>,
    buzzer_pin: Option<u8>,
    debounce_ms: Option<u64>,
}

const BAUDS: [u32; 8] = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200];

impl StationConfig {
    /// Reads and validates a station file.
    pub fn load(path: &std::path::Path) -> Result<StationConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        StationConfig::from_toml(&text)
    }

    /// Validates the text of a station file.
    pub fn from_toml(text: &str) -> Result<StationConfig, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|err| ConfigError::Syntax(err.to_string()))?;
        let station = StationId::new(raw.station.as_str())
            .map_err(|err| invalid("station", err.to_string()))?;

        let mut broker = BrokerSettings::parse(&raw.broker.url)
            .map_err(|reason| invalid("broker.url", reason))?;
        broker.credentials = match (raw.broker.username, raw.broker.password) {
            (None, None) => None,
            (Some(user), password) => Some((user, password.unwrap_or_default())),
            (None, Some(_)) => {
                return Err(invalid("broker.password", "a password needs broker.username"));
            }
        };

        let idle = raw.idle_signout_secs.unwrap_or(600);
        if !(10..=86_400).contains(&idle) {
            return Err(invalid("idle_signout_secs", "must be between 10 and 86400 seconds"));
        }
        let heartbeat = raw.heartbeat_secs.unwrap_or(30);
        if !(1..=3600).contains(&heartbeat) {
            return Err(invalid("heartbeat_secs", "must be between 1 and 3600 seconds"));
        }
        let (gpio, debounce) = gpio(raw.gpio)?;
        Ok(StationConfig {
            data_dir: raw.data_dir.unwrap_or_else(|| PathBuf::from("kiosk-data")),
            balance: raw.balance.map(balance).transpose()?,
            scanner: scanner(raw.scanner)?,
            gpio,
            debounce,
            idle_signout: Duration::from_secs(idle),
            heartbeat: Duration::from_secs(heartbeat),
            fullscreen: raw.fullscreen.unwrap_or(true),
            station,
            broker,
        })
    }
}

fn balance(raw: RawBalance) -> Result<DriverConfig, ConfigError> {
    let protocol: Protocol =
        raw.protocol.parse().map_err(|err: touchstone_scales::protocol::UnknownProtocol| {
            invalid("balance.protocol", err.to_string())
        })?;
    let mut config = DriverConfig::new(raw.port, protocol);
    let mut serial: SerialSettings = config.serial;
    if let Some(baud) = raw.baud {
        if !BAUDS.contains(&baud) {
            return Err(invalid("balance.baud", format!("must be one of {BAUDS:?}")));
        }
        serial.baud = baud;
    }
    serial.data_bits = match raw.data_bits {
        None => serial.data_bits,
        Some(7) => DataBits::Seven,
        Some(8) => DataBits::Eight,
        Some(_) => return Err(invalid("balance.data_bits", "must be 7 or 8")),
    };
    serial.parity = match raw.parity.as_deref() {
        None => serial.parity,
        Some("none") => Parity::None,
        Some("odd") => Parity::Odd,
        Some("even") => Parity::Even,
        Some(_) => return Err(invalid("balance.parity", "must be none, odd or even")),
    };
    serial.stop_bits = match raw.stop_bits {
        None => serial.stop_bits,
        Some(1) => StopBits::One,
        Some(2) => StopBits::Two,
        Some(_) => return Err(invalid("balance.stop_bits", "must be 1 or 2")),
    };
    serial.flow_control = match raw.flow_control.as_deref() {
        None => serial.flow_control,
        Some("none") => FlowControl::None,
        Some("software") => FlowControl::Software,
        Some("hardware") => FlowControl::Hardware,
        Some(_) => {
            return Err(invalid("balance.flow_control", "must be none, software or hardware"));
        }
    };
    config.serial = serial;
    config.mode = match (raw.mode.as_deref(), raw.poll_ms) {
        (None, None) => config.mode,
        (Some("streaming"), None) => Mode::Streaming,
        (Some("streaming"), Some(_)) => {
            return Err(invalid("balance.poll_ms", "a streaming balance is not polled"));
        }
        (None | Some("polling"), poll_ms) => {
            let ms = poll_ms.unwrap_or(200);
            if !(100..=5000).contains(&ms) {
                return Err(invalid("balance.poll_ms", "must be between 100 and 5000"));
            }
            Mode::Polling { interval: Duration::from_millis(ms) }
        }
        (Some(_), _) => return Err(invalid("balance.mode", "must be polling or streaming")),
    };
    config.expected_serial = raw.serial_number;
    Ok(config)
}

fn scanner(raw: Option<RawScanner>) -> Result<ScannerSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(ScannerSettings::Keyboard { max_gap: Duration::from_millis(50), min_len: 4 });
    };
    match raw.mode.as_str() {
        "keyboard" => {
            if raw.port.is_some() {
                return Err(invalid("scanner.port", "only a serial scanner has a port"));
            }
            let gap = raw.max_gap_ms.unwrap_or(50);
            if !(5..=200).contains(&gap) {
                return Err(invalid("scanner.max_gap_ms", "must be between 5 and 200"));
            }
            let min_len = raw.min_len.unwrap_or(4);
            if !(1..=64).contains(&min_len) {
                return Err(invalid("scanner.min_len", "must be between 1 and 64"));
            }
            Ok(ScannerSettings::Keyboard { max_gap: Duration::from_millis(gap), min_len })
        }
        "serial" => {
            let port =
                raw.port.ok_or_else(|| invalid("scanner.port", "a serial scanner needs a port"))?;
            let baud = raw.baud.unwrap_or(9600);
            if !BAUDS.contains(&baud) {
                return Err(invalid("scanner.baud", format!("must be one of {BAUDS:?}")));
            }
            Ok(ScannerSettings::Serial { port, baud })
        }
        _ => Err(invalid("scanner.mode", "must be keyboard or serial")),
    }
}

fn gpio(raw: Option<RawGpio>) -> Result<(GpioSettings, Duration), ConfigError> {
    let Some(raw) = raw else {
        return Ok((GpioSettings::Simulated, Duration::from_millis(30)));
    };
    let debounce = raw.debounce_ms.unwrap_or(30);
    if !(1..=500).contains(&debounce) {
        return Err(invalid("gpio.debounce_ms", "must be between 1 and 500"));
    }
    let pins = [
        ("gpio.foot_switch_pin", raw.foot_switch_pin),
        ("gpio.green_pin", raw.green_pin),
        ("gpio.amber_pin", raw.amber_pin),
        ("gpio.red_pin", raw.red_pin),
        ("gpio.buzzer_pin", raw.buzzer_pin),
    ];
    for (i, (key, pin)) in pins.iter().enumerate() {
        let Some(pin) = pin else { continue };
        if *pin > 27 {
            return Err(invalid(key, "BCM pins on the header are 0 to 27"));
        }
        if pins[..i].iter().any(|(_, other)| other == &Some(*pin)) {
            return Err(invalid(key, format!("pin {pin} is used twice")));
        }
    }
    let settings = match raw.backend.as_str() {
        "simulated" => GpioSettings::Simulated,
        "rppal" => GpioSettings::Rppal(GpioPins {
            foot_switch: raw.foot_switch_pin,
            green: raw.green_pin,
            amber: raw.amber_pin,
            red: raw.red_pin,
            buzzer: raw.buzzer_pin,
        }),
        _ => return Err(invalid("gpio.backend", "must be simulated or rppal")),
    };
    Ok((settings, Duration::from_millis(debounce)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        station = "setting-1"
        data_dir = "/var/lib/touchstone-kiosk"
        idle_signout_secs = 300

        [broker]
        url = "mqtt://gateway.local"
        username = "setting-1"
        password = "secret"

        [balance]
        port = "/dev/serial/by-id/usb-balance"
        protocol = "mt-sics"
        baud = 9600

        [scanner]
        mode = "serial"
        port = "/dev/ttyACM0"

        [gpio]
        backend = "rppal"
        foot_switch_pin = 17
        red_pin = 22
    "#;

    fn error_of(text: &str) -> String {
        StationConfig::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn a_full_station_file_is_accepted() {
        let config = StationConfig::from_toml(GOOD).unwrap();
        assert_eq!(config.station.as_str(), "setting-1");
        assert_eq!(config.broker.port, 1883);
        assert_eq!(config.broker.credentials, Some(("setting-1".into(), "secret".into())));
        assert_eq!(config.balance.unwrap().protocol, Protocol::MtSics);
        assert_eq!(config.idle_signout, Duration::from_secs(300));
        assert!(matches!(config.scanner, ScannerSettings::Serial { baud: 9600, .. }));
        assert!(matches!(config.gpio, GpioSettings::Rppal(GpioPins { red: Some(22), .. })));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (GOOD.replace("baud = 9600", "baud = 9601"), "balance.baud"),
            (GOOD.replace("\"mt-sics\"", "\"mettler\""), "balance.protocol"),
            (GOOD.replace("\"setting-1\"\n", "\"setting 1\"\n"), "station"),
            (GOOD.replace("mqtt://gateway.local", "http://gateway.local"), "broker.url"),
            (GOOD.replace("idle_signout_secs = 300", "idle_signout_secs = 1"), "idle_signout_secs"),
            (GOOD.replace("red_pin = 22", "red_pin = 17"), "gpio.red_pin"),
            (GOOD.replace("\"serial\"", "\"bluetooth\""), "scanner.mode"),
        ];
        for (text, key) in cases {
            let message = error_of(&text);
            assert!(message.starts_with(&format!("{key}:")), "{key}: {message}");
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused_with_their_names() {
        let message = error_of(&GOOD.replace("baud = 9600", "baud_rate = 9600"));
        assert!(message.contains("unknown field `baud_rate`"), "{message}");
        let message = error_of(&GOOD.replace("baud = 9600", "baud = \"fast\""));
        assert!(message.contains("baud"), "{message}");
        let message = error_of("station = \"a\"\n");
        assert!(message.contains("missing field `broker`"), "{message}");
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let config =
            StationConfig::from_toml(include_str!("../../systemd/kiosk.toml.example")).unwrap();
        assert_eq!(config.station.as_str(), "setting-1");
        assert!(matches!(config.gpio, GpioSettings::Rppal(GpioPins { foot_switch: Some(17), .. })));
        assert!(matches!(config.scanner, ScannerSettings::Keyboard { min_len: 4, .. }));
    }

    #[test]
    fn a_minimal_file_gets_safe_defaults() {
        let config = StationConfig::from_toml(
            "station = \"bench-1\"\n[broker]\nurl = \"mqtt://127.0.0.1:1999\"\n",
        )
        .unwrap();
        assert_eq!(config.broker.port, 1999);
        assert!(config.balance.is_none());
        assert_eq!(config.gpio, GpioSettings::Simulated);
        assert!(matches!(config.scanner, ScannerSettings::Keyboard { min_len: 4, .. }));
    }
}
