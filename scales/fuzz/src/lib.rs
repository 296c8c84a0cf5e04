//! What every fuzz target does with its input: decode it whole, line by line and in chunks
//! split where the first byte says, and check the invariants a reading must keep.

use std::time::{Duration, Instant};

use touchstone_scales::{Decoder, Protocol, Reading, decode_line};

/// Runs `protocol`'s decoder over `data` every way the driver could feed it.
pub fn exercise(protocol: Protocol, data: &[u8]) {
    let now = Instant::now();
    let whole = Decoder::new(protocol).push(data, now);
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut decoder = Decoder::new(protocol);
    let (head, tail) = data.split_at(split);
    let mut chunked = decoder.push(head, now);
    chunked.extend(decoder.push(tail, now));
    assert_eq!(whole, chunked, "chunking changed the readings");
    let _ = decoder.poll_idle(now + Duration::from_secs(1));
    for reading in whole.iter().chain(decode_line(protocol, data, now).iter()) {
        check(reading);
    }
}

fn check(reading: &Reading) {
    if let Some(grams) = reading.grams {
        let unit = reading.unit.as_ref().expect("grams without a unit");
        let number = reading.number.expect("grams without a number");
        assert_eq!(unit.unit.to_grams(number), Some(grams));
    }
    assert_eq!(reading.value.is_some(), reading.number.is_some());
}
