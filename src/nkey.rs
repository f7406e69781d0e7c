//! NATS nkeys, the little of them leafd needs: decode a user seed (`SU…`), give its
//! public key (`U…`), sign the hub's nonce with it (the uplink), and verify a client's
//! signature of the INFO nonce against its public key (client auth). Ed25519 comes from ring, which the TLS
//! stack already brings, so there is one implementation of it in the binary.
//!
//! Owns: the nkey text format (base32 without padding of a prefix, the 32-byte key and a
//! CRC-16/XMODEM, little-endian). Must not: read files or log keys; errors never contain
//! the seed. The tests check it against the `nkeys` crate.

use ring::signature::{Ed25519KeyPair, KeyPair as _};

/// First byte of every seed, before the key type is folded in.
const PREFIX_SEED: u8 = 18 << 3;
/// Key type byte of user keys.
const PREFIX_USER: u8 = 20 << 3;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A user key pair from its seed.
pub struct UserKey(Ed25519KeyPair);

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKey({})", self.public_key())
    }
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// Decodes `text`: `prefix` bytes and a 32-byte key behind a valid CRC; returns prefix and
/// key. `what` names the expected kind in errors (which never hold the text).
fn decode(text: &str, prefix: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut raw =
        base32_decode(text.trim()).ok_or_else(|| format!("not {what} (bad characters)"))?;
    if raw.len() != prefix + 32 + 2 {
        return Err(format!("not {what} (wrong length)"));
    }
    let crc = raw.split_off(raw.len() - 2);
    if crc16(&raw).to_le_bytes()[..] != crc[..] {
        return Err(format!("not {what} (bad checksum)"));
    }
    Ok(raw)
}

/// Appends the CRC and encodes.
fn encode(mut raw: Vec<u8>) -> String {
    let crc = crc16(&raw);
    raw.extend_from_slice(&crc.to_le_bytes());
    base32_encode(&raw)
}

impl UserKey {
    /// Decodes a user seed (`SU…`).
    ///
    /// # Errors
    /// Not base32, a bad checksum, not a seed, or not a user's seed (the text never holds
    /// the seed).
    pub fn from_seed(seed: &str) -> Result<UserKey, String> {
        let body = decode(seed, 2, "an nkey seed")?;
        if body[0] & 0b1111_1000 != PREFIX_SEED {
            return Err("not an nkey seed".into());
        }
        let kind = ((body[0] & 0b111) << 5) | ((body[1] & 0b1111_1000) >> 3);
        if kind != PREFIX_USER {
            return Err("the seed is not a user seed".into());
        }
        Ed25519KeyPair::from_seed_unchecked(&body[2..])
            .map(UserKey)
            .map_err(|_| "not a valid ed25519 seed".into())
    }

    /// The public key, `U…`.
    pub fn public_key(&self) -> String {
        let mut raw = vec![PREFIX_USER];
        raw.extend_from_slice(self.0.public_key().as_ref());
        encode(raw)
    }

    /// The ed25519 signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.0.sign(msg).as_ref().to_vec()
    }
}

/// The 32-byte ed25519 key of a user public key (`U…`), for clients that authenticate with
/// an nkey.
///
/// # Errors
/// Not base32, a bad checksum, or not a user public key.
pub fn user_public_key(key: &str) -> Result<[u8; 32], String> {
    let body = decode(key, 1, "a user nkey")?;
    if body[0] != PREFIX_USER {
        return Err("not a user nkey (it must start with U)".into());
    }
    let mut out = [0; 32];
    out.copy_from_slice(&body[1..]);
    Ok(out)
}

/// Whether `sig` is `public`'s ed25519 signature of `msg`.
pub fn verify(public: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
        .verify(msg, sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_what_the_nkeys_crate_signs() {
        let theirs = nkeys::KeyPair::new_user();
        let public = user_public_key(&theirs.public_key()).expect("their public key");
        let sig = theirs.sign(b"nonce-123").expect("sign");
        assert!(verify(&public, b"nonce-123", &sig));
        assert!(!verify(&public, b"nonce-124", &sig));
        assert!(user_public_key(&theirs.seed().expect("seed")).is_err());
        assert!(user_public_key("UABC").is_err());
    }

    #[test]
    fn matches_the_nkeys_crate() {
        for _ in 0..20 {
            let theirs = nkeys::KeyPair::new_user();
            let seed = theirs.seed().expect("seed");
            let ours = UserKey::from_seed(&seed).expect("our decoder takes their seed");
            assert_eq!(ours.public_key(), theirs.public_key());
            let sig = ours.sign(b"nonce");
            assert!(
                theirs.verify(b"nonce", &sig).is_ok(),
                "their verifier takes our signature"
            );
        }
    }

    #[test]
    fn refuses_other_seeds_and_damage() {
        let account = nkeys::KeyPair::new_account().seed().expect("seed");
        assert_eq!(
            UserKey::from_seed(&account).unwrap_err(),
            "the seed is not a user seed"
        );
        let user = nkeys::KeyPair::new_user().seed().expect("seed");
        let mut damaged = user.clone().into_bytes();
        damaged[10] = if damaged[10] == b'A' { b'B' } else { b'A' };
        let damaged = String::from_utf8(damaged).expect("ASCII");
        let err = UserKey::from_seed(&damaged).unwrap_err();
        assert!(err.contains("checksum"), "{err}");
        assert!(!err.contains(&user) && !err.contains(&damaged));
        assert!(UserKey::from_seed("SU!!").is_err());
        let public = nkeys::KeyPair::new_user().public_key();
        assert!(
            UserKey::from_seed(&public).is_err(),
            "a public key is not a seed"
        );
    }

    #[test]
    fn base32_round_trips() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base32_encode(&data);
            assert_eq!(base32_decode(&text).expect("decodes"), data);
        }
    }
}
