//! Hub credentials as they go into the leaf CONNECT: `[uplink]`'s [`UplinkAuth`] turned into
//! [`LeafCredentials`], reading the nkey seed file or `.creds` file it names and signing the
//! hub's INFO nonce (PROTOCOL.md §2.3).
//!
//! Owns: the two file formats (a seed file: the first line starting with `SU`; a `.creds`
//! file: the JWT and seed between `BEGIN/END NATS USER JWT` and `BEGIN/END USER NKEY SEED`
//! lines, whatever their dash counts) and the signature (`sig` = base64url without padding of
//! the ed25519 signature of the nonce bytes; `nkey` = the seed's public key).
//! Must not: put a seed, password or token into an error text (they are logged at every
//! attempt), or touch sockets (that is `link/uplink.rs`, which calls [`credentials`] after
//! each INFO, so a rotated file is picked up at the next attempt).

use crate::nkey::UserKey;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::config::UplinkAuth;

use super::LeafCredentials;

/// What to put into the CONNECT for `auth`, signing `nonce` (the hub INFO's) where needed.
/// Seed and creds files are read on every call.
///
/// # Errors
/// The file cannot be read, has no user seed (or JWT), or the seed is malformed. The text
/// names the file and never contains the seed.
pub fn credentials(auth: &UplinkAuth, nonce: &str) -> Result<LeafCredentials, String> {
    Ok(match auth {
        UplinkAuth::None => LeafCredentials::None,
        UplinkAuth::UserPassword { user, password } => LeafCredentials::UserPassword {
            user: user.clone(),
            pass: password.clone(),
        },
        UplinkAuth::Token(t) => LeafCredentials::Token(t.clone()),
        UplinkAuth::NkeySeedFile(path) => {
            let text = read(path, "nkey seed file")?;
            let seed = seed_line(&text).ok_or_else(|| {
                format!(
                    "nkey seed file {}: no user seed (a line starting with SU)",
                    path.display()
                )
            })?;
            let (nkey, sig) =
                sign(seed, nonce).map_err(|e| format!("nkey seed file {}: {e}", path.display()))?;
            LeafCredentials::Nkey {
                nkey,
                sig,
                jwt: None,
            }
        }
        UplinkAuth::CredsFile(path) => {
            let text = read(path, "creds file")?;
            let (jwt, seed) =
                parse_creds(&text).map_err(|e| format!("creds file {}: {e}", path.display()))?;
            let (nkey, sig) =
                sign(seed, nonce).map_err(|e| format!("creds file {}: {e}", path.display()))?;
            LeafCredentials::Nkey {
                nkey,
                sig,
                jwt: Some(jwt.to_owned()),
            }
        }
    })
}

/// The file's text; the error names the file and the OS reason only.
fn read(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// The first line that, trimmed, starts with `SU`.
fn seed_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| l.starts_with("SU"))
}

/// The user JWT and the user seed of a `.creds` file.
fn parse_creds(text: &str) -> Result<(&str, &str), String> {
    let jwt = armored(text, "NATS USER JWT")
        .ok_or("no user JWT (between BEGIN NATS USER JWT and END NATS USER JWT lines)")?;
    let seed = armored(text, "USER NKEY SEED")
        .ok_or("no user seed (between BEGIN USER NKEY SEED and END USER NKEY SEED lines)")?;
    if !seed.starts_with("SU") {
        return Err("the USER NKEY SEED block does not hold a user seed (SU…)".into());
    }
    Ok((jwt, seed))
}

/// The one non-empty line between the first `---BEGIN <words>---` line and the
/// `---END <words>---` line after it (dash counts and surrounding whitespace do not matter).
fn armored<'t>(text: &'t str, words: &str) -> Option<&'t str> {
    let is_marker = |line: &str, edge: &str| {
        let inner = line.trim().trim_matches('-').trim();
        line.trim().starts_with('-')
            && inner
                .strip_prefix(edge)
                .is_some_and(|rest| rest.trim() == words)
    };
    let mut lines = text.lines();
    lines.by_ref().find(|l| is_marker(l, "BEGIN"))?;
    let mut value = None;
    for line in lines {
        if is_marker(line, "END") {
            return value;
        }
        let line = line.trim();
        if !line.is_empty() {
            if value.is_some() {
                // More than one line between the markers: not a JWT or seed.
                return None;
            }
            value = Some(line);
        }
    }
    None
}

/// `(public nkey, sig)` for `seed` over `nonce`. The error never contains the seed.
fn sign(seed: &str, nonce: &str) -> Result<(String, String), String> {
    let key = UserKey::from_seed(seed).map_err(|e| format!("malformed user seed ({e})"))?;
    let raw = key.sign(nonce.as_bytes());
    Ok((key.public_key(), URL_SAFE_NO_PAD.encode(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nkeys::KeyPair;
    use std::io::Write as _;
    use std::path::PathBuf;

    const NONCE: &str = "x48wGt1Wy7IzIDE";

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write temp file");
        f
    }

    fn verifies(nkey: &str, sig: &str, nonce: &str) -> bool {
        let public = KeyPair::from_public_key(nkey).expect("public nkey");
        let raw = URL_SAFE_NO_PAD
            .decode(sig)
            .expect("base64url without padding");
        public.verify(nonce.as_bytes(), &raw).is_ok()
    }

    /// A creds file as nsc writes it (five dashes to open, six to close).
    fn creds_text(jwt: &str, seed: &str) -> String {
        format!(
            "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n"
        )
    }

    const JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQUJDIn0.c2ln";

    #[test]
    fn plain_kinds_pass_through() {
        assert_eq!(
            credentials(&UplinkAuth::None, NONCE),
            Ok(LeafCredentials::None)
        );
        assert_eq!(
            credentials(
                &UplinkAuth::UserPassword {
                    user: "leaf".into(),
                    password: "pw".into()
                },
                NONCE
            ),
            Ok(LeafCredentials::UserPassword {
                user: "leaf".into(),
                pass: "pw".into()
            })
        );
        assert_eq!(
            credentials(&UplinkAuth::Token("t0k".into()), NONCE),
            Ok(LeafCredentials::Token("t0k".into()))
        );
    }

    #[test]
    fn seed_file_signs_the_nonce() {
        let kp = KeyPair::new_user();
        let seed = kp.seed().expect("seed");
        // Surrounding whitespace and other lines are tolerated; the first SU line counts.
        let f = file(&format!("# leafd uplink\n\n   {seed}  \r\n"));
        let got = credentials(&UplinkAuth::NkeySeedFile(f.path().into()), NONCE)
            .expect("seed file works");
        let LeafCredentials::Nkey { nkey, sig, jwt } = got else {
            panic!("nkey credentials expected, got {got:?}");
        };
        assert_eq!(nkey, kp.public_key());
        assert_eq!(jwt, None);
        assert!(!sig.contains('=') && !sig.contains('+') && !sig.contains('/'));
        assert!(verifies(&nkey, &sig, NONCE), "signature verifies");
        assert!(!verifies(&nkey, &sig, "another nonce"));
        assert!(!verifies(&KeyPair::new_user().public_key(), &sig, NONCE));
    }

    #[test]
    fn creds_file_parses_and_signs() {
        let kp = KeyPair::new_user();
        let seed = kp.seed().expect("seed");
        let f = file(&creds_text(JWT, &seed));
        let got =
            credentials(&UplinkAuth::CredsFile(f.path().into()), NONCE).expect("creds file works");
        let LeafCredentials::Nkey { nkey, sig, jwt } = got else {
            panic!("nkey credentials expected, got {got:?}");
        };
        assert_eq!(nkey, kp.public_key());
        assert_eq!(jwt.as_deref(), Some(JWT));
        assert!(verifies(&nkey, &sig, NONCE));
        // Other dash counts, CRLF line ends and indentation.
        let odd = format!(
            "  ---BEGIN NATS USER JWT---\r\n  {JWT}\r\n--END NATS USER JWT--\r\n\
             ---------BEGIN USER NKEY SEED---------\r\n{seed}\r\n---END USER NKEY SEED---\r\n"
        );
        assert_eq!(parse_creds(&odd), Ok((JWT, seed.as_str())));
    }

    fn error(auth: UplinkAuth) -> String {
        credentials(&auth, NONCE).expect_err("bad credentials file")
    }

    #[test]
    fn bad_files_give_clear_errors_without_the_seed() {
        let seed = KeyPair::new_user().seed().expect("seed");
        let missing = PathBuf::from("/nonexistent/leafd/edge.nk");
        let e = error(UplinkAuth::NkeySeedFile(missing.clone()));
        assert!(
            e.contains("cannot read nkey seed file /nonexistent/leafd/edge.nk"),
            "{e}"
        );
        let e = error(UplinkAuth::CredsFile(missing));
        assert!(e.starts_with("cannot read creds file /nonexistent"), "{e}");

        let f = file("not a seed\n");
        let e = error(UplinkAuth::NkeySeedFile(f.path().into()));
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        assert!(e.contains("no user seed"), "{e}");

        // A damaged seed (one character changed): checksum error, seed not echoed.
        let mut damaged = seed.clone().into_bytes();
        damaged[10] = if damaged[10] == b'A' { b'B' } else { b'A' };
        let damaged = String::from_utf8(damaged).expect("ASCII");
        let f = file(&damaged);
        let e = error(UplinkAuth::NkeySeedFile(f.path().into()));
        assert!(e.contains("malformed user seed"), "{e}");
        assert!(!e.contains(&damaged) && !e.contains(&seed), "{e}");

        // An account seed is not a user seed.
        let account = KeyPair::new_account().seed().expect("seed");
        let f = file(&creds_text(JWT, &account));
        let e = error(UplinkAuth::CredsFile(f.path().into()));
        assert!(e.contains("does not hold a user seed"), "{e}");
        assert!(!e.contains(&account), "{e}");

        // A creds file without its JWT, or without its seed, or with a broken seed.
        let f = file(&format!(
            "-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        ));
        let e = error(UplinkAuth::CredsFile(f.path().into()));
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        assert!(e.contains("no user JWT"), "{e}");
        assert!(!e.contains(&seed), "{e}");
        let f = file(&format!(
            "-----BEGIN NATS USER JWT-----\n{JWT}\n------END NATS USER JWT------\n"
        ));
        assert!(error(UplinkAuth::CredsFile(f.path().into())).contains("no user seed"));
        let f = file(&creds_text(JWT, &damaged));
        let e = error(UplinkAuth::CredsFile(f.path().into()));
        assert!(
            e.contains("malformed user seed") && !e.contains(&damaged),
            "{e}"
        );
        // A block that is never closed.
        let f = file(&format!("-----BEGIN NATS USER JWT-----\n{JWT}\n"));
        assert!(error(UplinkAuth::CredsFile(f.path().into())).contains("no user JWT"));
    }
}
