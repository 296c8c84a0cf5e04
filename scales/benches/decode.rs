//! Decode throughput and capture latency (written next).
fn main() {}
