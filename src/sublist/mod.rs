//! The subject → interest trie.
// (stub: the sublist helper fills this in)
