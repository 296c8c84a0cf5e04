//! How each family's virtual balance prints: weight lines, replies to commands, identity.
//!
//! The shapes follow the same reference sections the decoders cite, so a round trip through
//! the simulator exercises the decoders on the lines a real balance would send. Where the
//! reference documents no serial overload form (Ohaus, §5.3), the simulator prints the
//! display's `-Hi-`, which no decoder accepts as a weight: the capture then times out
//! instead of recording anything.

use rust_decimal::Decimal;

use super::physics::Indication;
use crate::command::{self, Command};
use crate::protocol::Protocol;

/// Every command, in the order an incoming line is matched against the family's encodings.
/// `ImmediateWeight` comes before `ContinuousOff` because MT-SICS uses `SI` for both.
const COMMANDS: [Command; 8] = [
    Command::StableWeight,
    Command::ImmediateWeight,
    Command::ContinuousOn,
    Command::ContinuousOff,
    Command::Zero,
    Command::Tare,
    Command::Serial,
    Command::Model,
];

/// Which command an incoming line is, for `protocol`.
pub fn recognise(protocol: Protocol, line: &[u8]) -> Option<Command> {
    COMMANDS.into_iter().find(|candidate| {
        command::encode(protocol, *candidate).is_some_and(|bytes| {
            let expected = bytes.strip_suffix(b"\r\n").unwrap_or(&bytes);
            expected == line
        })
    })
}

/// Why a weight line is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Answer to a stable-weight request (MT `S`, Radwag `S`).
    Stable,
    /// Answer to an immediate request.
    Immediate,
    /// Continuous output or the print key.
    Stream,
}

/// The terminator this family's virtual balance ends lines with: Shimadzu's default CR only
/// (§9.1) exercises the framer's pause rule.
fn terminator(protocol: Protocol) -> &'static [u8] {
    match protocol {
        Protocol::Shimadzu => b"\r",
        _ => b"\r\n",
    }
}

fn fixed(value: Decimal, decimals: u32) -> String {
    let decimals = usize::try_from(decimals).unwrap_or(3);
    format!("{:.*}", decimals, value.abs())
}

/// The weight line for `indication`, terminator included.
pub fn weight_line(protocol: Protocol, cause: Cause, shown: Indication, decimals: u32) -> Vec<u8> {
    let abs = fixed(shown.net, decimals);
    let negative = shown.net.is_sign_negative() && !shown.net.is_zero();
    let minus = if negative { "-" } else { "" };
    let stable = shown.stable;
    let over = shown.overload;
    let text = match protocol {
        Protocol::MtSics | Protocol::KernKcp => match (over, stable) {
            (true, _) => "S +".to_owned(),
            (false, true) => format!("S S {:>10} g", format!("{minus}{abs}")),
            (false, false) => format!("S D {:>10} g", format!("{minus}{abs}")),
        },
        Protocol::And => {
            if over {
                "OL,+999999.9  g".to_owned()
            } else {
                let header = if stable { "ST" } else { "US" };
                let sign = if negative { '-' } else { '+' };
                format!("{header},{sign}{abs:0>8}  g")
            }
        }
        Protocol::Ohaus => {
            if over {
                "      -Hi- g".to_owned()
            } else {
                let flag = if stable { "" } else { " ?" };
                format!("{:>10} g{flag}", format!("{minus}{abs}"))
            }
        }
        Protocol::SartoriusSbi => {
            let sign = if negative { '-' } else { '+' };
            if over {
                format!("+{:>9}    ", "H")
            } else {
                let unit = if stable { "g" } else { "" };
                format!("{sign}{abs:>9} {unit:<3}")
            }
        }
        Protocol::Kern => {
            if over {
                format!("{:>16}", "Error")
            } else {
                let unit = if stable { "g" } else { "" };
                format!("  {:>10} {unit:<3}", format!("{minus}{abs}"))
            }
        }
        Protocol::Radwag => {
            let echo = match cause {
                Cause::Stable => "S",
                Cause::Immediate => "SI",
                Cause::Stream => "",
            };
            let flag = if over {
                '^'
            } else if stable {
                ' '
            } else {
                '?'
            };
            let sign = if negative { '-' } else { ' ' };
            if over {
                if echo.is_empty() { "^".to_owned() } else { format!("{echo} ^") }
            } else if echo.is_empty() {
                format!("{flag} {sign}{abs:>9} g  ")
            } else {
                format!("{echo:<3}{flag} {sign}{abs:>9} g  ")
            }
        }
        Protocol::Shimadzu => {
            let flag = if stable { 'S' } else { 'U' };
            if over {
                format!("{flag}      OL  ")
            } else {
                let sign = if negative { '-' } else { ' ' };
                format!("{flag}{sign}{abs:>8}g ")
            }
        }
        Protocol::Vibra => {
            let sign = if negative { '-' } else { '+' };
            if over {
                "+9999999 G E".to_owned()
            } else {
                let flag = if stable { 'S' } else { 'U' };
                format!("{sign}{abs:0>7} G {flag}")
            }
        }
        Protocol::Adam => {
            if over {
                "^^^^^^".to_owned()
            } else {
                let sign = if negative { '-' } else { '+' };
                format!("{sign}{abs:>12} g ")
            }
        }
        Protocol::Generic => {
            if over {
                "+ ~~~~~~~~g ".to_owned()
            } else {
                let sign = if negative { '-' } else { '+' };
                format!("{sign}{abs:>8}g  ")
            }
        }
    };
    finish(protocol, text)
}

/// The reply to a tare or zero command that was (`done`) or was not carried out, if the
/// family replies at all.
pub fn state_reply(
    protocol: Protocol,
    command: Command,
    done: bool,
    tare: Decimal,
    decimals: u32,
) -> Option<Vec<u8>> {
    let text = match (protocol, command) {
        (Protocol::MtSics | Protocol::KernKcp, Command::Zero) => {
            if done {
                "Z A".to_owned()
            } else {
                "Z I".to_owned()
            }
        }
        (Protocol::MtSics | Protocol::KernKcp, Command::Tare) => {
            if done {
                format!("T S {:>10} g", fixed(tare, decimals))
            } else {
                "T I".to_owned()
            }
        }
        // A&D answers `<AK>` when error codes are enabled (§4.4); the simulator has them on.
        (Protocol::And, _) => "\u{6}".to_owned(),
        (Protocol::Ohaus, _) => {
            if done {
                "OK!".to_owned()
            } else {
                "ES".to_owned()
            }
        }
        // Radwag's two-stage acknowledgement (§8.2).
        (Protocol::Radwag, _) => {
            let id = if command == Command::Zero { "Z" } else { "T" };
            if done { format!("{id} A\r\n{id} D") } else { format!("{id} I") }
        }
        _ => return None,
    };
    Some(finish(protocol, text))
}

/// The reply to an identity query.
pub fn identity_reply(
    protocol: Protocol,
    command: Command,
    model: &str,
    serial: &str,
) -> Option<Vec<u8>> {
    let text = match (protocol, command) {
        (Protocol::MtSics | Protocol::KernKcp, Command::Serial) => format!("I4 A \"{serial}\""),
        (Protocol::MtSics | Protocol::KernKcp, Command::Model) => {
            format!("I2 A \"{model} Bridge 320.00900 g\"")
        }
        (Protocol::And, Command::Serial) => format!("SN,{serial}"),
        (Protocol::And, Command::Model) => format!("TN,{model}"),
        (Protocol::Ohaus, Command::Serial) => format!("SN: {serial}"),
        (Protocol::SartoriusSbi, Command::Model) => format!("Model  {model}"),
        (Protocol::SartoriusSbi, Command::Serial) => format!("SerNo.    {serial}"),
        (Protocol::Radwag, Command::Serial) => format!("NB A \"{serial}\""),
        _ => return None,
    };
    Some(finish(protocol, text))
}

/// The reply to a line the family does not know.
pub fn unknown_reply(protocol: Protocol) -> Option<Vec<u8>> {
    match protocol {
        Protocol::MtSics | Protocol::KernKcp | Protocol::Ohaus | Protocol::Radwag => {
            Some(finish(protocol, "ES".to_owned()))
        }
        Protocol::And => Some(finish(protocol, "EC,E01".to_owned())),
        _ => None,
    }
}

fn finish(protocol: Protocol, text: String) -> Vec<u8> {
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(terminator(protocol));
    bytes
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::decode::Decoder;
    use crate::reading::Status;

    fn shown(net: &str, stable: bool, overload: bool) -> Indication {
        Indication { net: Decimal::from_str_exact(net).unwrap(), stable, overload }
    }

    /// Every family's own decoder reads back what its virtual balance prints.
    #[test]
    fn every_family_decodes_its_own_simulated_lines() {
        for protocol in Protocol::ALL {
            for (net, stable) in [("12.345", true), ("-0.020", false), ("0.000", true)] {
                let mut line =
                    weight_line(protocol, Cause::Immediate, shown(net, stable, false), 3);
                line.extend_from_slice(b"\n");
                let readings = Decoder::new(protocol).push(&line, Instant::now());
                let reading = readings.first().unwrap_or_else(|| panic!("{protocol} {line:?}"));
                assert_eq!(
                    reading.number,
                    Some(Decimal::from_str_exact(net).unwrap()),
                    "{protocol}"
                );
                assert_eq!(reading.status, Status::Ok);
            }
        }
    }

    #[test]
    fn commands_are_recognised_from_their_encodings() {
        assert_eq!(recognise(Protocol::MtSics, b"SI"), Some(Command::ImmediateWeight));
        assert_eq!(recognise(Protocol::SartoriusSbi, b"\x1bU"), Some(Command::Tare));
        assert_eq!(recognise(Protocol::Radwag, b"C0"), Some(Command::ContinuousOff));
        assert_eq!(recognise(Protocol::MtSics, b"XYZ"), None);
    }
}
