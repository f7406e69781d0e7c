//! Unit tests of the forwarder (filled below).
