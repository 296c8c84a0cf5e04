//! Line framing of a balance's byte stream.
//!
//! Every family is line-oriented ASCII, but terminators differ: CR LF for most, CR only for
//! Shimadzu's default and Adam PGL answers, LF only on some Mettler ML settings (reference
//! §0.1). Framing on byte counts breaks as soon as a balance adds an ID or switches format
//! (§11.5), so this framer splits on terminators only: LF, CR LF, and a CR that is followed
//! by any other byte or by a pause. It owns no clock: the caller passes `now`.

use std::time::{Duration, Instant};

/// Longest line kept; longer runs are noise (wrong baud, a flooding stream) and are dropped
/// up to the next terminator so memory stays bounded.
pub const MAX_LINE: usize = 160;

/// Splits bytes into lines.
#[derive(Debug, Clone)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// When a CR arrived at the end of the bytes seen so far, waiting to learn whether an LF
    /// follows.
    pending_cr: Option<Instant>,
    /// The line grew past [`MAX_LINE`]; drop bytes until the next terminator.
    overflowed: bool,
    cr_pause: Duration,
}

/// How long after a lone CR the line is taken as finished, when nothing else arrives.
pub const DEFAULT_CR_PAUSE: Duration = Duration::from_millis(50);

impl Default for LineFramer {
    fn default() -> Self {
        LineFramer::new(DEFAULT_CR_PAUSE)
    }
}

impl LineFramer {
    /// A framer that ends a CR-terminated line after `cr_pause` of silence.
    pub fn new(cr_pause: Duration) -> Self {
        LineFramer { buf: Vec::new(), pending_cr: None, overflowed: false, cr_pause }
    }

    /// Feeds bytes received at `now`; pushes every completed line to `out`, without its
    /// terminator. Empty lines are not reported.
    pub fn push(&mut self, bytes: &[u8], now: Instant, out: &mut Vec<Vec<u8>>) {
        for &byte in bytes {
            if self.pending_cr.take().is_some() {
                // A CR followed by anything: CR LF is one terminator, anything else starts
                // the next line.
                self.finish(out);
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' => self.finish(out),
                b'\r' => self.pending_cr = Some(now),
                _ if self.overflowed => {}
                _ if self.buf.len() >= MAX_LINE => {
                    self.buf.clear();
                    self.overflowed = true;
                }
                _ => self.buf.push(byte),
            }
        }
    }

    /// Ends a CR-terminated line once the pause after its CR has passed. Call it when the
    /// port has been quiet; returns the line if one was waiting.
    pub fn poll_idle(&mut self, now: Instant) -> Option<Vec<u8>> {
        let since = self.pending_cr?;
        if now.saturating_duration_since(since) < self.cr_pause {
            return None;
        }
        self.pending_cr = None;
        let mut out = Vec::with_capacity(1);
        self.finish(&mut out);
        out.pop()
    }

    /// When [`LineFramer::poll_idle`] should next be called, if a CR is waiting.
    pub fn idle_deadline(&self) -> Option<Instant> {
        self.pending_cr.map(|since| since + self.cr_pause)
    }

    /// Forgets any partial line, e.g. after reconnecting mid-line (reference §11.4).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.pending_cr = None;
        self.overflowed = false;
    }

    fn finish(&mut self, out: &mut Vec<Vec<u8>>) {
        if !self.overflowed && !self.buf.is_empty() {
            out.push(std::mem::take(&mut self.buf));
        }
        self.buf.clear();
        self.overflowed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(chunks: &[&[u8]]) -> Vec<String> {
        let mut framer = LineFramer::default();
        let now = Instant::now();
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk, now, &mut out);
        }
        out.into_iter().map(|line| String::from_utf8_lossy(&line).into_owned()).collect()
    }

    #[test]
    fn splits_on_lf_crlf_and_cr_followed_by_data() {
        assert_eq!(frame(&[b"a\r\nb\nc\rd\r\n"]), ["a", "b", "c", "d"]);
    }

    #[test]
    fn crlf_split_across_reads_is_one_terminator() {
        assert_eq!(frame(&[b"S S 1.0 g\r", b"\nS S 2.0 g\r\n"]), ["S S 1.0 g", "S S 2.0 g"]);
    }

    #[test]
    fn partial_lines_wait_for_their_terminator() {
        assert_eq!(frame(&[b"ST,+00", b"12.5  g"]), Vec::<String>::new());
        assert_eq!(frame(&[b"ST,+00", b"12.5  g\r\n"]), ["ST,+0012.5  g"]);
    }

    #[test]
    fn lone_cr_ends_the_line_after_a_pause() {
        let mut framer = LineFramer::new(Duration::from_millis(50));
        let start = Instant::now();
        let mut out = Vec::new();
        framer.push(b"-  186.65g \r", start, &mut out);
        assert!(out.is_empty());
        assert_eq!(framer.poll_idle(start + Duration::from_millis(10)), None);
        assert_eq!(framer.idle_deadline(), Some(start + Duration::from_millis(50)));
        let line = framer.poll_idle(start + Duration::from_millis(60));
        assert_eq!(line.as_deref(), Some(&b"-  186.65g "[..]));
        assert_eq!(framer.poll_idle(start + Duration::from_millis(200)), None);
    }

    #[test]
    fn overlong_noise_is_dropped_up_to_the_next_terminator() {
        let noise = vec![b'x'; MAX_LINE * 4];
        assert_eq!(frame(&[&noise, b"tail\r\nS S 1 g\r\n"]), ["S S 1 g"]);
    }

    #[test]
    fn blank_lines_are_skipped() {
        assert_eq!(frame(&[b"\r\n\r\n\n\rok\n"]), ["ok"]);
    }
}
