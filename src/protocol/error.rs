//! Protocol errors: what went wrong while parsing, and the `-ERR` nats-server sends for it.
// (stub: the codec helper fills this in)
/// (stub)
#[derive(Debug)]
pub struct ProtocolError;
/// (stub)
#[derive(Debug)]
pub enum ErrorKind {}
