//! The `leafd` binary (stub).
fn main() {}
