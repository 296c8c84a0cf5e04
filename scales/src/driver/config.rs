//! What a driver is told: the port, the family, the serial settings, polling or streaming,
//! and the stillness policy for balances without a stability flag.
//!
//! Defaults per family follow the link-layer tables of the reference (§3.1, §4.1, §6.1, §7);
//! where the reference found no factory default (Ohaus §5.1, Radwag §8.4) 9600 8N1 is used,
//! and installers are told to set the balance to match.

use std::path::PathBuf;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::protocol::Protocol;

/// Data bits per character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataBits {
    /// Seven data bits (A&D and Sartorius factory settings).
    Seven,
    /// Eight data bits.
    Eight,
}

/// Parity. Mark and space (offered by Sartorius) cannot be set through the serial library
/// (reference §6.1): choose odd, even or none on the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    /// No parity bit.
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

/// Stop bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopBits {
    /// One stop bit.
    One,
    /// Two stop bits (Shinko HG).
    Two,
}

/// Flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowControl {
    /// None.
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS. Sartorius ships with hardware handshake and blocks without it (§6.1).
    Hardware,
}

/// The line terminator appended to commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminator {
    /// CR LF, what almost every family expects.
    CrLf,
    /// CR only (A&D `CrLF` setting, Shimadzu default).
    Cr,
    /// LF only (some Mettler ML settings).
    Lf,
}

/// Serial line settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialSettings {
    /// Baud rate.
    pub baud: u32,
    /// Data bits.
    pub data_bits: DataBits,
    /// Parity.
    pub parity: Parity,
    /// Stop bits.
    pub stop_bits: StopBits,
    /// Flow control.
    pub flow_control: FlowControl,
    /// Terminator for commands.
    pub terminator: Terminator,
}

impl SerialSettings {
    /// The factory defaults the reference gives for `protocol`.
    pub fn defaults_for(protocol: Protocol) -> Self {
        let eight_n1 = SerialSettings {
            baud: 9600,
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
            flow_control: FlowControl::None,
            terminator: Terminator::CrLf,
        };
        match protocol {
            // §4.1: A&D ships at 2400 7E1.
            Protocol::And => SerialSettings {
                baud: 2400,
                data_bits: DataBits::Seven,
                parity: Parity::Even,
                ..eight_n1
            },
            // §6.1: Sartorius CP/Master/QC/MC ship at 1200 7O1 with hardware handshake. The
            // handshake is left off here because a USB adapter without CTS wiring would block
            // the balance; installers set the balance to match (README).
            Protocol::SartoriusSbi => SerialSettings {
                baud: 1200,
                data_bits: DataBits::Seven,
                parity: Parity::Odd,
                ..eight_n1
            },
            Protocol::Shimadzu => SerialSettings { terminator: Terminator::Cr, ..eight_n1 },
            _ => eight_n1,
        }
    }
}

/// How readings are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Send an immediate-weight request every `interval` (KCP wants more than 100 ms,
    /// reference §3.4).
    Polling {
        /// Time between requests.
        interval: Duration,
    },
    /// The balance prints by itself: continuously, or on its print key.
    Streaming,
}

/// When a reading from a family without a stability flag counts as still (reference §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlePolicy {
    /// Largest change, in grams, that still counts as holding still.
    pub tolerance_grams: Decimal,
    /// How long the value must hold.
    pub hold: Duration,
}

impl Default for SettlePolicy {
    fn default() -> Self {
        // The reference suggests at least 0.5 s of unchanged readings; a 0.001 g balance's
        // last digit flickers, so one division of tolerance is allowed.
        SettlePolicy { tolerance_grams: Decimal::new(1, 3), hold: Duration::from_millis(500) }
    }
}

/// Everything a driver needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverConfig {
    /// The port; prefer a stable name (`/dev/serial/by-id/...`) so a replug finds it again.
    pub path: PathBuf,
    /// The balance family.
    pub protocol: Protocol,
    /// Serial line settings.
    pub serial: SerialSettings,
    /// Polling or streaming.
    pub mode: Mode,
    /// Stillness policy for families without a stability flag.
    pub settle: SettlePolicy,
    /// No byte for this long on an open port: reported as silent.
    pub silence_timeout: Duration,
    /// Bytes but no decodable line for this long: reported as garbled (wrong baud or format).
    pub garbled_timeout: Duration,
    /// First wait before reopening a lost port; doubles up to `reconnect_max`.
    pub reconnect_initial: Duration,
    /// Longest wait between reopening attempts.
    pub reconnect_max: Duration,
    /// How long to wait for the identity replies after opening.
    pub identity_timeout: Duration,
    /// The serial number the balance must report, if known in advance. When `None`, the
    /// serial seen at the first connection is the one every reconnection must match.
    pub expected_serial: Option<String>,
    /// How long after a lone CR the line counts as finished.
    pub cr_pause: Duration,
}

impl DriverConfig {
    /// A configuration with the family's defaults: polling at 200 ms where the family has an
    /// immediate-weight command, streaming otherwise.
    pub fn new(path: impl Into<PathBuf>, protocol: Protocol) -> Self {
        let polls = crate::command::encode(protocol, crate::command::Command::ImmediateWeight);
        DriverConfig {
            path: path.into(),
            protocol,
            serial: SerialSettings::defaults_for(protocol),
            mode: if polls.is_some() {
                Mode::Polling { interval: Duration::from_millis(200) }
            } else {
                Mode::Streaming
            },
            settle: SettlePolicy::default(),
            silence_timeout: Duration::from_secs(3),
            garbled_timeout: Duration::from_secs(3),
            reconnect_initial: Duration::from_millis(250),
            reconnect_max: Duration::from_secs(5),
            identity_timeout: Duration::from_millis(500),
            expected_serial: None,
            cr_pause: crate::framing::DEFAULT_CR_PAUSE,
        }
    }
}
