//! Frame encoders.
// (stub: the codec helper fills this in)
