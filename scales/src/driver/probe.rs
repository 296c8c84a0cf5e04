//! Autodetection: which balance, at which settings, answers on a port.
//!
//! For each candidate setting the probe first listens (a streaming balance announces itself),
//! then asks each family in turn for an immediate weight and its identity. **It never sends a
//! command that changes the balance's state**: every byte string it sends is checked against
//! every family's zero and tare encodings and against keys that switch a balance off or change
//! its mode (A&D's `P` is the ON:OFF key, §4.3; `R`, `U`, `CAL`, `C`, `@` are refused too).
//! Adam's print command is `P`, so Adam balances are only detected when they stream.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use touchstone_model::event::BalanceIdentity;

use super::config::{DataBits, DriverConfig, Parity, SerialSettings};
use super::error::DriverError;
use crate::command::{self, Command};
use crate::decode::Decoder;
use crate::protocol::Protocol;
use crate::reading::{IdentityReply, Reading};

/// What answered on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// The family whose decoder understood the replies.
    pub protocol: Protocol,
    /// The serial settings that worked.
    pub serial: SerialSettings,
    /// The identity it gave, where it answers identity queries.
    pub identity: BalanceIdentity,
    /// A reading it sent.
    pub sample: Reading,
    /// True when it printed on its own; false when it answered a request.
    pub streaming: bool,
}

/// The settings tried, most common first (reference §3.1, §4.1, §6.1, §7).
pub fn candidate_settings() -> Vec<SerialSettings> {
    let base = SerialSettings::defaults_for(Protocol::MtSics);
    let seven = |baud, parity| SerialSettings { baud, data_bits: DataBits::Seven, parity, ..base };
    vec![
        base,
        seven(2400, Parity::Even),
        seven(1200, Parity::Odd),
        SerialSettings { baud: 4800, ..base },
        SerialSettings { baud: 19200, ..base },
        SerialSettings { baud: 2400, ..base },
        seven(9600, Parity::Even),
        seven(9600, Parity::Odd),
        SerialSettings { baud: 1200, ..base },
        SerialSettings { baud: 38400, ..base },
    ]
}

/// Keys that change a balance's state in some family even though they are not its zero or
/// tare: A&D's ON:OFF, RE-ZERO, MODE, calibration and cancel; MT-SICS reset.
const NEVER_SEND: [&[u8]; 9] = [b"P", b"ON", b"OFF", b"R", b"U", b"CAL", b"EXC", b"C", b"@"];

/// True when `bytes` cannot change any family's state.
pub fn is_safe_to_probe(bytes: &[u8]) -> bool {
    let text = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
    if NEVER_SEND.contains(&text) {
        return false;
    }
    Protocol::ALL.into_iter().all(|protocol| {
        [Command::Zero, Command::Tare]
            .into_iter()
            .filter_map(|c| command::encode(protocol, c))
            .all(|danger| danger.strip_suffix(b"\r\n").unwrap_or(&danger) != text)
    })
}

/// The requests the probe sends to `protocol`, each checked by [`is_safe_to_probe`].
pub fn probe_requests(protocol: Protocol) -> Vec<Vec<u8>> {
    [Command::ImmediateWeight, Command::Model, Command::Serial]
        .into_iter()
        .filter_map(|c| command::encode(protocol, c))
        .filter(|bytes| is_safe_to_probe(bytes))
        .collect()
}

/// Tries every candidate setting and family on `path`; `listen` is how long each attempt
/// waits for bytes.
pub async fn probe(path: &Path, listen: Duration) -> Result<Option<ProbeReport>, DriverError> {
    for serial in candidate_settings() {
        let mut config = DriverConfig::new(path, Protocol::Generic);
        config.serial = serial;
        let port = super::task::open_port(&config)?;
        let (mut reader, mut writer) = tokio::io::split(port);

        // Passive: whatever arrives unasked, read by every family's decoder.
        let bytes = read_for(&mut reader, listen).await;
        if let Some((protocol, sample)) = best_family(&bytes) {
            let identity =
                BalanceIdentity { protocol: protocol.name().to_owned(), model: None, serial: None };
            return Ok(Some(ProbeReport { protocol, serial, identity, sample, streaming: true }));
        }

        // Active: ask each family, one at a time, never pipelining (MT-SICS p.13).
        for protocol in Protocol::ALL {
            let mut decoder = Decoder::new(protocol);
            let mut sample = None;
            let mut identity =
                BalanceIdentity { protocol: protocol.name().to_owned(), model: None, serial: None };
            for request in probe_requests(protocol) {
                config.protocol = protocol;
                tracing::debug!(
                    protocol = %protocol,
                    baud = serial.baud,
                    request = ?String::from_utf8_lossy(&request),
                    "probing"
                );
                if writer.write_all(&request).await.is_err() {
                    break;
                }
                let reply = read_for(&mut reader, listen).await;
                for reading in decoder.push(&reply, std::time::Instant::now()) {
                    match &reading.identity {
                        Some(IdentityReply::Serial(s)) => identity.serial = Some(s.clone()),
                        Some(IdentityReply::Model(m)) => identity.model = Some(m.clone()),
                        None if reading.number.is_some() && sample.is_none() => {
                            sample = Some(reading)
                        }
                        None => {}
                    }
                }
            }
            if let Some(sample) = sample {
                return Ok(Some(ProbeReport {
                    protocol,
                    serial,
                    identity,
                    sample,
                    streaming: false,
                }));
            }
        }
    }
    Ok(None)
}

/// Collects bytes for `listen`.
async fn read_for<R: AsyncReadExt + Unpin>(reader: &mut R, listen: Duration) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + listen;
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, reader.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    bytes
}

/// The order streamed bytes are attributed in: the strictest shapes first, the loosest
/// (Ohaus, Adam, generic read almost any number and unit) last.
const PASSIVE_ORDER: [Protocol; 11] = [
    Protocol::MtSics,
    Protocol::And,
    Protocol::Vibra,
    Protocol::Radwag,
    Protocol::Shimadzu,
    Protocol::SartoriusSbi,
    Protocol::Kern,
    Protocol::KernKcp,
    Protocol::Ohaus,
    Protocol::Adam,
    Protocol::Generic,
];

/// The family whose decoder reads `bytes` best: each weight scores one, plus one for a
/// stability flag and one for exact grams. Ties go to the earlier family in the passive
/// order. Shapes that several families share (a bare `12.345 g` line) are named after the
/// strictest family that reads them; its decoder reads them the same way.
pub fn best_family(bytes: &[u8]) -> Option<(Protocol, Reading)> {
    let now = std::time::Instant::now();
    let mut best: Option<(usize, Protocol, Reading)> = None;
    for protocol in PASSIVE_ORDER {
        let weights: Vec<Reading> = Decoder::new(protocol)
            .push(bytes, now)
            .into_iter()
            .filter(|r| r.number.is_some())
            .collect();
        let score: usize = weights
            .iter()
            .map(|r| 1 + usize::from(r.stability.is_some()) + usize::from(r.grams.is_some()))
            .sum();
        let better = best.as_ref().is_none_or(|(top, _, _)| score > *top);
        if score > 0
            && better
            && let Some(sample) = weights.into_iter().last()
        {
            best = Some((score, protocol, sample));
        }
    }
    best.map(|(_, protocol, sample)| (protocol, sample))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_never_sends_a_state_changing_command() {
        for protocol in Protocol::ALL {
            for request in probe_requests(protocol) {
                for target in Protocol::ALL {
                    for danger in [Command::Zero, Command::Tare] {
                        if let Some(bytes) = command::encode(target, danger) {
                            assert_ne!(request, bytes, "{protocol} probe is {target} {danger:?}");
                        }
                    }
                }
                assert!(!NEVER_SEND.contains(&request.strip_suffix(b"\r\n").unwrap_or(&request)));
            }
        }
        // Adam's print key is A&D's ON:OFF key.
        assert!(probe_requests(Protocol::Adam).is_empty());
    }

    #[test]
    fn a_streaming_line_is_attributed_to_its_family() {
        let (protocol, _) = best_family(b"ST,+0012.345  g\r\nST,+0012.345  g\r\n").unwrap();
        assert_eq!(protocol, Protocol::And);
        let (protocol, _) = best_family(b"+00123.4 G S\r\n").unwrap();
        assert_eq!(protocol, Protocol::Vibra);
        let (protocol, _) = best_family(b"S   186.65g \rS   186.65g \r\n").unwrap();
        assert_eq!(protocol, Protocol::Shimadzu);
        let (protocol, _) = best_family(b"+   12.345 g  \r\n+   12.346    \r\n").unwrap();
        assert_eq!(protocol, Protocol::SartoriusSbi);
        assert!(best_family(b"\xff\xfe\x00garbage\r\n").is_none());
    }
}
