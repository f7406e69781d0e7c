//! The resumable op parser.
// (stub: the codec helper fills this in)
/// (stub)
#[derive(Debug)]
pub struct Parser;
