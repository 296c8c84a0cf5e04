//! Sans-IO decoding: bytes and a timestamp in, readings out.
//!
//! [`Decoder`] frames the byte stream into lines ([`crate::framing`]) and hands each line to
//! its family's parser. Lines no parser recognises (noise, echoes of our own commands, GLP
//! headers, partial lines after attaching mid-stream) are counted and skipped, never guessed
//! at. Nothing here panics on any input; the property tests and fuzz targets hold it to that.

mod adam;
mod and;
mod generic;
mod kern;
mod mt_sics;
mod ohaus;
mod radwag;
mod sartorius;
mod shimadzu;
mod vibra;

use std::time::{Duration, Instant};

use crate::framing::LineFramer;
use crate::number::{self, Number};
use crate::protocol::Protocol;
use crate::reading::{Reading, UnitToken};
use crate::units;

/// A streaming decoder for one balance.
#[derive(Debug, Clone)]
pub struct Decoder {
    protocol: Protocol,
    framer: LineFramer,
    lines: Vec<Vec<u8>>,
    skipped: u64,
}

impl Decoder {
    /// A decoder for `protocol` with the default pause after a lone CR.
    pub fn new(protocol: Protocol) -> Self {
        Decoder::with_cr_pause(protocol, crate::framing::DEFAULT_CR_PAUSE)
    }

    /// A decoder that takes a lone CR as the end of a line after `cr_pause` of silence.
    pub fn with_cr_pause(protocol: Protocol, cr_pause: Duration) -> Self {
        Decoder { protocol, framer: LineFramer::new(cr_pause), lines: Vec::new(), skipped: 0 }
    }

    /// The family this decoder parses.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Feeds bytes received at `now` and returns the readings of every line they complete.
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<Reading> {
        let mut lines = std::mem::take(&mut self.lines);
        self.framer.push(bytes, now, &mut lines);
        let mut readings = Vec::with_capacity(lines.len());
        for line in lines.drain(..) {
            self.decode_into(&line, now, &mut readings);
        }
        self.lines = lines;
        readings
    }

    /// Finishes a CR-terminated line once its pause has passed (see [`LineFramer`]).
    pub fn poll_idle(&mut self, now: Instant) -> Option<Reading> {
        let line = self.framer.poll_idle(now)?;
        let mut readings = Vec::with_capacity(1);
        self.decode_into(&line, now, &mut readings);
        readings.pop()
    }

    /// When [`Decoder::poll_idle`] should be called next, if a CR-terminated line waits.
    pub fn idle_deadline(&self) -> Option<Instant> {
        self.framer.idle_deadline()
    }

    /// Drops any partial line, e.g. after a reconnect.
    pub fn reset(&mut self) {
        self.framer.reset();
    }

    /// How many complete lines were not recognised as anything.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn decode_into(&mut self, line: &[u8], now: Instant, out: &mut Vec<Reading>) {
        match decode_line(self.protocol, line, now) {
            Some(reading) => out.push(reading),
            None => {
                self.skipped += 1;
                tracing::trace!(
                    protocol = %self.protocol,
                    line = %String::from_utf8_lossy(line),
                    "skipped line"
                );
            }
        }
    }
}

/// Decodes one line (terminator already removed) as `protocol` prints it.
pub fn decode_line(protocol: Protocol, line: &[u8], at: Instant) -> Option<Reading> {
    let raw = String::from_utf8_lossy(line).into_owned();
    let text = raw.trim_end_matches(['\r', '\n']);
    let parsed = match protocol {
        Protocol::MtSics => mt_sics::parse(protocol, text),
        Protocol::And => and::parse(protocol, text),
        Protocol::Ohaus => ohaus::parse(text),
        Protocol::SartoriusSbi => sartorius::parse(text),
        Protocol::Kern | Protocol::KernKcp => kern::parse(text),
        Protocol::Radwag => radwag::parse(text),
        Protocol::Shimadzu => shimadzu::parse(text),
        Protocol::Vibra => vibra::parse(text),
        Protocol::Adam => adam::parse(text),
        Protocol::Generic => generic::parse(text),
    }?;
    Some(parsed.into_reading(at, raw))
}

/// A unit token as `protocol` means it.
fn unit(protocol: Protocol, token: &str) -> UnitToken {
    UnitToken { raw: token.to_owned(), unit: units::resolve(protocol, token) }
}

/// A number followed by an optional unit token, e.g. `-  450.38 GN` or `186.65g`. The unit is
/// the first whitespace-separated token after the number; anything after it is returned.
fn number_then_unit(protocol: Protocol, text: &str) -> Option<(Number, Option<UnitToken>, &str)> {
    let (number, rest) = number::scan(text)?;
    let rest = rest.trim_start();
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (token, after) = rest.split_at(end);
    let unit = (!token.is_empty()).then(|| unit(protocol, token));
    Some((number, unit, after))
}

/// The text between the first pair of double quotes, as MT-SICS and Radwag quote strings.
fn quoted(text: &str) -> Option<&str> {
    let start = text.find('"')? + 1;
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

#[cfg(test)]
mod tests;
