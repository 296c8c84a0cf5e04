//! The JSON API (being written).
