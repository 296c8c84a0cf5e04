//! Command encoders per family: the bytes to send for a stable weight, an immediate weight,
//! continuous output on or off, zero, tare and the identity queries.
//!
//! A command a family does not have is `None`, never a near miss: Shimadzu and ViBRA list
//! no host commands in the sources read (reference §9.1, §9.2), the Kern legacy set has no
//! zero or identity (§7.1), and SBI has no continuous mode command (autoprint is a menu
//! setting, §6.2). [`Command::changes_state`] marks the commands autodetection must never send.

use crate::protocol::Protocol;

/// Something the host asks of a balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Send the weight once it is stable.
    StableWeight,
    /// Send the weight now, stable or not.
    ImmediateWeight,
    /// Start continuous output.
    ContinuousOn,
    /// Stop continuous output.
    ContinuousOff,
    /// Zero the balance.
    Zero,
    /// Tare the balance.
    Tare,
    /// Ask for the serial number.
    Serial,
    /// Ask for the model.
    Model,
}

impl Command {
    /// True for commands that change what the balance shows; probing never sends them.
    pub fn changes_state(self) -> bool {
        matches!(self, Command::Zero | Command::Tare)
    }
}

const ESC: u8 = 0x1b;

/// The bytes that send `command` to a `protocol` balance, terminator included, or `None`
/// when the family has no such command.
pub fn encode(protocol: Protocol, command: Command) -> Option<Vec<u8>> {
    use Command::*;
    let text: &[u8] = match (protocol, command) {
        // MT-SICS level 0/1 (§3.3). `SIR` is stopped by `SI`, which answers one line; `@`
        // would also stop it but resets the balance to its power-on state.
        (Protocol::MtSics | Protocol::KernKcp, StableWeight) => b"S",
        (Protocol::MtSics | Protocol::KernKcp, ImmediateWeight) => b"SI",
        (Protocol::MtSics | Protocol::KernKcp, ContinuousOn) => b"SIR",
        (Protocol::MtSics | Protocol::KernKcp, ContinuousOff) => b"SI",
        (Protocol::MtSics | Protocol::KernKcp, Zero) => b"Z",
        (Protocol::MtSics | Protocol::KernKcp, Tare) => b"T",
        (Protocol::MtSics | Protocol::KernKcp, Serial) => b"I4",
        (Protocol::MtSics | Protocol::KernKcp, Model) => b"I2",

        // A&D FX-i/FZ-i (§4.3): `R` is the RE-ZERO key; `C` cancels `S` and `SIR`.
        (Protocol::And, StableWeight) => b"S",
        (Protocol::And, ImmediateWeight) => b"Q",
        (Protocol::And, ContinuousOn) => b"SIR",
        (Protocol::And, ContinuousOff) => b"C",
        (Protocol::And, Zero) => b"R",
        (Protocol::And, Tare) => b"T",
        (Protocol::And, Serial) => b"?SN",
        (Protocol::And, Model) => b"?TN",

        // Ohaus, the Scout STX/Adventurer/Explorer/Pioneer generation (§5.2); commands are
        // case sensitive. No model query is documented; `PV` gives only a version.
        (Protocol::Ohaus, StableWeight) => b"SP",
        (Protocol::Ohaus, ImmediateWeight) => b"IP",
        (Protocol::Ohaus, ContinuousOn) => b"CP",
        (Protocol::Ohaus, ContinuousOff) => b"0P",
        (Protocol::Ohaus, Zero) => b"Z",
        (Protocol::Ohaus, Tare) => b"T",
        (Protocol::Ohaus, Serial) => b"PSN",
        (Protocol::Ohaus, Model) => return None,

        // Sartorius SBI (§6.2): `ESC P` prints with or without stability as the balance menu
        // says; the capture still checks the unit column, so either menu setting is safe.
        (Protocol::SartoriusSbi, StableWeight | ImmediateWeight) => &[ESC, b'P'],
        (Protocol::SartoriusSbi, Zero) => &[ESC, b'V'],
        (Protocol::SartoriusSbi, Tare) => &[ESC, b'U'],
        (Protocol::SartoriusSbi, Model) => &[ESC, b'x', b'1', b'_'],
        (Protocol::SartoriusSbi, Serial) => &[ESC, b'x', b'2', b'_'],
        (Protocol::SartoriusSbi, ContinuousOn | ContinuousOff) => return None,

        // Kern legacy (§7.1): single lowercase letters sent without CR LF; `t` has no reply.
        (Protocol::Kern, StableWeight) => return Some(b"s".to_vec()),
        (Protocol::Kern, ImmediateWeight) => return Some(b"w".to_vec()),
        (Protocol::Kern, Tare) => return Some(b"t".to_vec()),
        (Protocol::Kern, _) => return None,

        // Radwag (§8.1): basic-unit commands, so the unit does not follow the display.
        (Protocol::Radwag, StableWeight) => b"S",
        (Protocol::Radwag, ImmediateWeight) => b"SI",
        (Protocol::Radwag, ContinuousOn) => b"C1",
        (Protocol::Radwag, ContinuousOff) => b"C0",
        (Protocol::Radwag, Zero) => b"Z",
        (Protocol::Radwag, Tare) => b"T",
        (Protocol::Radwag, Serial) => b"NB",
        (Protocol::Radwag, Model) => return None,

        // Adam Highland (§9.3): `P` prints, `T` tares, `Z` zeroes; no stable-only print.
        (Protocol::Adam, ImmediateWeight) => b"P",
        (Protocol::Adam, Zero) => b"Z",
        (Protocol::Adam, Tare) => b"T",
        (Protocol::Adam, _) => return None,

        (Protocol::Shimadzu | Protocol::Vibra | Protocol::Generic, _) => return None,
    };
    let mut bytes = text.to_vec();
    bytes.extend_from_slice(b"\r\n");
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt_sics_commands_end_in_crlf() {
        assert_eq!(encode(Protocol::MtSics, Command::StableWeight).unwrap(), b"S\r\n");
        assert_eq!(encode(Protocol::MtSics, Command::Serial).unwrap(), b"I4\r\n");
    }

    #[test]
    fn kern_legacy_letters_have_no_terminator() {
        assert_eq!(encode(Protocol::Kern, Command::StableWeight).unwrap(), b"s");
        assert_eq!(encode(Protocol::Kern, Command::Zero), None);
        assert_eq!(encode(Protocol::KernKcp, Command::Zero).unwrap(), b"Z\r\n");
    }

    #[test]
    fn sartorius_uses_escape_sequences() {
        assert_eq!(encode(Protocol::SartoriusSbi, Command::Tare).unwrap(), b"\x1bU\r\n");
        assert_eq!(encode(Protocol::SartoriusSbi, Command::Zero).unwrap(), b"\x1bV\r\n");
    }

    #[test]
    fn families_without_commands_say_so() {
        for command in [Command::StableWeight, Command::Zero, Command::Tare] {
            assert_eq!(encode(Protocol::Vibra, command), None);
            assert_eq!(encode(Protocol::Shimadzu, command), None);
            assert_eq!(encode(Protocol::Generic, command), None);
        }
    }

    #[test]
    fn only_zero_and_tare_change_state() {
        assert!(Command::Zero.changes_state() && Command::Tare.changes_state());
        assert!(!Command::Serial.changes_state() && !Command::ImmediateWeight.changes_state());
    }
}
