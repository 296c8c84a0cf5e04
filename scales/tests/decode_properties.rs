//! Property tests over the whole decoding path: no input of any shape panics a decoder, and
//! framing does not depend on how the bytes were chunked.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use touchstone_scales::{Decoder, Protocol, decode_line};

fn protocol() -> impl Strategy<Value = Protocol> {
    (0..Protocol::ALL.len()).prop_map(|index| Protocol::ALL[index])
}

/// Bytes that look like balance output often enough to reach deep into the parsers.
fn balance_like() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        &b"S S "[..],
        b"S D ",
        b"ST,",
        b"US,",
        b"OL,",
        b"+",
        b"-",
        b" ",
        b"  ",
        b"0",
        b"12",
        b".",
        b",",
        b"g",
        b"ct",
        b"gr",
        b"GN",
        b"?",
        b"^",
        b"v",
        b"\r",
        b"\n",
        b"\r\n",
        b"Err",
        b"Error",
        b"[",
        b"]",
        b"SUI",
        b"\"",
        b"I4 A ",
        b"\x06",
        b"\xff",
        b"\xc3",
        b"~~~",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(
        protocol in protocol(),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let now = Instant::now();
        let mut decoder = Decoder::new(protocol);
        let _ = decoder.push(&bytes, now);
        let _ = decoder.poll_idle(now + Duration::from_secs(1));
        let _ = decode_line(protocol, &bytes, now);
    }

    #[test]
    fn balance_like_bytes_never_panic_any_decoder(protocol in protocol(), bytes in balance_like()) {
        let now = Instant::now();
        let mut decoder = Decoder::new(protocol);
        for reading in decoder.push(&bytes, now) {
            // Grams only ever come with a unit and a number.
            if reading.grams.is_some() {
                prop_assert!(reading.unit.is_some() && reading.number.is_some());
            }
        }
        let _ = decode_line(protocol, &bytes, now);
    }

    #[test]
    fn chunking_does_not_change_the_readings(
        protocol in protocol(),
        bytes in balance_like(),
        split in 0usize..400,
    ) {
        let now = Instant::now();
        let whole = Decoder::new(protocol).push(&bytes, now);
        let mut decoder = Decoder::new(protocol);
        let split = split.min(bytes.len());
        let mut chunked = decoder.push(&bytes[..split], now);
        chunked.extend(decoder.push(&bytes[split..], now));
        prop_assert_eq!(whole, chunked);
    }
}
