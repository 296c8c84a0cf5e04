//! Barcode scanners: keyboard-mode scanners told apart from typing, and serial scanners.
//!
//! A keyboard-mode scanner types the code and presses Enter, faster than any hand: every key
//! of one scan follows the previous within a few milliseconds. [`KeyBurst`] keeps the keys
//! of the current burst and hands out a code only when Enter ends a burst that was fast
//! throughout and long enough; anything slower is a person at a keyboard and is dropped.
//!
//! Serial scanners (USB-CDC or RS-232) send one code per line; [`run_serial`] reads them
//! through tokio-serial and survives the scanner being unplugged.
//!
//! Both strip what a scanner may put around the payload: an AIM symbology identifier
//! (`]C1` for Code 128, `]Q1` for QR, `]d2` for Data Matrix), GS1 group separators, and
//! surrounding white space. A line with other control bytes is line noise and is refused.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio_serial::SerialPortBuilderExt;

/// Longest code accepted; longer bursts are a stuck key or a paste, not an envelope.
pub const MAX_LEN: usize = 128;

/// Detects scans in a stream of key presses.
#[derive(Debug, Clone)]
pub struct KeyBurst {
    max_gap: Duration,
    min_len: usize,
    keys: String,
    last: Option<Duration>,
    broken: bool,
}

impl KeyBurst {
    /// A detector for scanners whose keys are at most `max_gap` apart, for codes of at least
    /// `min_len` characters.
    pub fn new(max_gap: Duration, min_len: usize) -> Self {
        KeyBurst { max_gap, min_len, keys: String::new(), last: None, broken: false }
    }

    /// A printable character arrived at `at` (any monotonic clock).
    pub fn key(&mut self, ch: char, at: Duration) {
        if self.last.is_some_and(|last| at.saturating_sub(last) > self.max_gap) {
            // Too slow to be one scan: whatever came before was typing.
            self.keys.clear();
            self.broken = false;
        }
        self.last = Some(at);
        if ch.is_control() || self.keys.len() >= MAX_LEN {
            self.broken = true;
            return;
        }
        self.keys.push(ch);
    }

    /// Enter arrived at `at`: the code, if the burst was a scan.
    pub fn enter(&mut self, at: Duration) -> Option<String> {
        let fast = self.last.is_some_and(|last| at.saturating_sub(last) <= self.max_gap);
        let keys = std::mem::take(&mut self.keys);
        let broken = std::mem::replace(&mut self.broken, false);
        self.last = None;
        if !fast || broken || keys.chars().count() < self.min_len {
            return None;
        }
        clean(&keys)
    }
}

/// The payload of one scanned line, or `None` for an empty line or line noise.
pub fn clean(line: &str) -> Option<String> {
    let mut text = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{1d}');
    if let Some(rest) = text.strip_prefix(']') {
        let mut chars = rest.chars();
        if let (Some(symbology), Some(modifier)) = (chars.next(), chars.next())
            && symbology.is_ascii_alphabetic()
            && modifier.is_ascii_alphanumeric()
        {
            text = chars.as_str();
        }
    }
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{1d}');
    if text.is_empty() || text.len() > MAX_LEN || text.chars().any(char::is_control) {
        return None;
    }
    Some(text.to_owned())
}

/// Splits serial bytes into lines on CR, LF or CR LF.
#[derive(Debug, Default)]
pub struct LineSplitter {
    line: Vec<u8>,
}

impl LineSplitter {
    /// Feeds bytes; returns every line they complete (empty lines dropped).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        for &byte in bytes {
            if byte == b'\r' || byte == b'\n' {
                if !self.line.is_empty() {
                    lines.push(std::mem::take(&mut self.line));
                }
            } else if self.line.len() < MAX_LEN * 4 {
                self.line.push(byte);
            }
        }
        lines
    }
}

/// Reads codes from a serial scanner until `on_scan` returns false, reopening the port with
/// backoff when it goes away. Lines that are not a clean code are logged and dropped.
pub async fn run_serial(
    port: std::path::PathBuf,
    baud: u32,
    mut on_scan: impl FnMut(String) -> bool + Send,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let opened = tokio_serial::new(port.to_string_lossy(), baud)
            .timeout(Duration::from_millis(500))
            .open_native_async();
        let mut serial = match opened {
            Ok(serial) => {
                tracing::info!(port = %port.display(), baud, "scanner connected");
                backoff = Duration::from_millis(500);
                serial
            }
            Err(err) => {
                let port = port.display();
                tracing::warn!(%port, error = %err, "scanner not available; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        let mut splitter = LineSplitter::default();
        let mut buffer = [0u8; 256];
        loop {
            match serial.read(&mut buffer).await {
                Ok(0) => break,
                Ok(n) => {
                    for line in splitter.feed(&buffer[..n]) {
                        let text = String::from_utf8_lossy(&line);
                        match clean(&text) {
                            Some(code) => {
                                if !on_scan(code) {
                                    return;
                                }
                            }
                            None => {
                                let line = text.escape_debug();
                                tracing::warn!(%line, "scanner sent noise; ignored");
                            }
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(port = %port.display(), error = %err, "scanner lost");
                    break;
                }
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn typed(burst: &mut KeyBurst, text: &str, start: u64, step: u64) -> Duration {
        let mut at = start;
        for ch in text.chars() {
            burst.key(ch, ms(at));
            at += step;
        }
        ms(at)
    }

    #[test]
    fn a_fast_burst_ending_in_enter_is_a_scan() {
        let mut burst = KeyBurst::new(ms(50), 4);
        let end = typed(&mut burst, "J-0147", 1000, 8);
        assert_eq!(burst.enter(end).as_deref(), Some("J-0147"));
        // The detector is ready for the next scan at once.
        let end = typed(&mut burst, "B-10425", 2000, 5);
        assert_eq!(burst.enter(end).as_deref(), Some("B-10425"));
    }

    #[test]
    fn typing_is_never_taken_for_a_scan() {
        let mut burst = KeyBurst::new(ms(50), 4);
        let end = typed(&mut burst, "J-0147", 1000, 180);
        assert_eq!(burst.enter(end), None);
        // A pause before Enter breaks it too.
        let end = typed(&mut burst, "J-0147", 5000, 5);
        assert_eq!(burst.enter(end + ms(400)), None);
    }

    #[test]
    fn slow_keys_before_a_scan_are_dropped_not_prefixed() {
        let mut burst = KeyBurst::new(ms(50), 4);
        burst.key('x', ms(100));
        burst.key('y', ms(400));
        let end = typed(&mut burst, "J-0147", 900, 6);
        assert_eq!(burst.enter(end).as_deref(), Some("J-0147"));
    }

    #[test]
    fn short_bursts_and_control_characters_are_refused() {
        let mut burst = KeyBurst::new(ms(50), 4);
        let end = typed(&mut burst, "ab", 0, 5);
        assert_eq!(burst.enter(end), None);
        let end = typed(&mut burst, "J-0\u{7}147", 100, 5);
        assert_eq!(burst.enter(end), None);
        let long: String = std::iter::repeat_n('9', MAX_LEN + 5).collect();
        let end = typed(&mut burst, &long, 1000, 1);
        assert_eq!(burst.enter(end), None);
        assert_eq!(burst.enter(end + ms(1)), None, "a lone Enter is nothing");
    }

    #[test]
    fn symbology_identifiers_and_separators_are_stripped() {
        assert_eq!(clean("]C1J-0147").as_deref(), Some("J-0147"));
        assert_eq!(clean("]Q1ST-0147-1\r").as_deref(), Some("ST-0147-1"));
        assert_eq!(clean("]d2\u{1d}PK-0147-2").as_deref(), Some("PK-0147-2"));
        assert_eq!(clean("  B-10425  ").as_deref(), Some("B-10425"));
        // A bracket that is not an identifier stays.
        assert_eq!(clean("]-1").as_deref(), Some("]-1"));
        assert_eq!(clean("\u{0}\u{ff}garbage\u{1b}"), None);
        assert_eq!(clean("   "), None);
    }

    #[test]
    fn serial_lines_split_on_any_terminator() {
        let mut splitter = LineSplitter::default();
        assert_eq!(splitter.feed(b"J-01"), Vec::<Vec<u8>>::new());
        assert_eq!(splitter.feed(b"47\r\nB-1"), vec![b"J-0147".to_vec()]);
        assert_eq!(splitter.feed(b"0425\n\n\rX-1\r"), vec![b"B-10425".to_vec(), b"X-1".to_vec()]);
    }
}
