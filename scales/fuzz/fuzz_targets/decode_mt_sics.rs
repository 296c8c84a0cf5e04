//! Fuzzes the MtSics decoder: any bytes, any chunking, no panic, consistent readings.

#![no_main]

use libfuzzer_sys::fuzz_target;
use touchstone_scales::Protocol;

fuzz_target!(|data: &[u8]| touchstone_scales_fuzz::exercise(Protocol::MtSics, data));
