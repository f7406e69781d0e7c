//! Subjects and filters.
// (stub: the sublist helper fills this in)
