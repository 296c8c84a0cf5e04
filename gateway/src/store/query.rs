//! Read queries for the HTTP API (being written).
