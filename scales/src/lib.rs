//! Precision balance drivers (being written).
