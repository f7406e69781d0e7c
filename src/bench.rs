//! `leafd bench`: load generator (not yet written).
