//! Replay tokens: the decision list of one execution (task chosen at each step, value
//! at each `choose`) and the program it belongs to, in one word that `replay` can
//! trust.
//!
//! Format `uo2.<program>.<body>`, where `<body>` is base64url without padding
//! (RFC 4648 §5) of
//!
//! ```text
//! varint(number of decisions) ‖ runs ‖ CRC-32(`uo2.<program>.` ‖ varint ‖ runs), 4 bytes LE
//! ```
//!
//! Decisions are run-length encoded: each maximal run of one value `v` repeated `n`
//! times is the varint `(n − 1) << 4 | min(v, 15)`, followed by the varint `v − 15`
//! when `v ≥ 15` (task ids and `choose` values are small; schedules are long runs of
//! one task). Varints are LEB128 (7 bits a byte, low bits first).
//!
//! The checksum is CRC-32 (IEEE 802.3, the one of zlib and PNG) over the token's text
//! up to the body and the body's bytes before the checksum: it covers the format
//! version, the program's name, the number of decisions and the decisions. Every
//! error burst of up to 32 bits is detected, so every single-character change is;
//! a token cut short or extended also fails the declared length. The last
//! character's unused low bits must be zero, and a token is accepted only if
//! encoding what it decodes to gives the token back, so no two texts mean the same
//! schedule.

use thiserror::Error;

/// The format version this build writes and reads.
pub const VERSION: &str = "uo2";
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The alphabet of `uo1` bodies (base32, lower case).
const UO1_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// More decisions than any execution makes (the step bound is a `u32`, and a million
/// steps is already far beyond the model's scenarios): a bound on what decoding
/// allocates.
pub const MAX_DECISIONS: u64 = 1 << 24;
/// What to do about a damaged token.
const COPY_WHOLE: &str = "copy the whole token from the `usb-offload check` output \
(one word from `uo2.` to the end of the line, or the `replay` field of `check --json`) and try again";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("not a usb-offload replay token (a token starts with `{VERSION}.`, as printed by `usb-offload check`)")]
    Format,
    #[error("this replay token comes from an older version of usb-offload (format `{0}`, without a length and a checksum); this version reads `{VERSION}` tokens: run `usb-offload check` again to get a fresh token for the finding")]
    Old(String),
    #[error("this replay token comes from a newer version of usb-offload (format `{0}`); this version reads `{VERSION}` tokens: replay it with the version that printed it, or run `usb-offload check` with this one to get a fresh token")]
    Newer(String),
    #[error("the replay token is damaged: {0}; {COPY_WHOLE}")]
    Damaged(String),
}

fn damaged(why: impl Into<String>) -> TokenError {
    TokenError::Damaged(why.into())
}

/// A decoded token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The program (for the model: `design/scenario`).
    pub program: String,
    pub decisions: Vec<u32>,
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial value and final xor
/// 0xFFFFFFFF): the checksum of zlib, PNG and Ethernet.
#[derive(Clone, Copy)]
pub struct Crc32(u32);

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    pub fn new() -> Self {
        Crc32(0xFFFF_FFFF)
    }
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = CRC_TABLE[((self.0 ^ b as u32) & 0xff) as usize] ^ (self.0 >> 8);
        }
    }
    pub fn finish(self) -> u32 {
        self.0 ^ 0xFFFF_FFFF
    }
    pub fn of(bytes: &[u8]) -> u32 {
        let mut c = Crc32::new();
        c.update(bytes);
        c.finish()
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Reads a varint at `*pos`; `None` if the bytes end inside it or it exceeds 64 bits.
fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0u32;
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        if shift > 63 || (shift == 63 && b & 0x7e != 0) {
            return None;
        }
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
    }
}

/// `varint(len) ‖ runs`: the part of the body the checksum follows.
fn payload(decisions: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    put_varint(&mut out, decisions.len() as u64);
    let mut i = 0;
    while i < decisions.len() {
        let v = decisions[i];
        let n = decisions[i..].iter().take_while(|&&d| d == v).count();
        put_varint(&mut out, ((n as u64 - 1) << 4) | v.min(15) as u64);
        if v >= 15 {
            put_varint(&mut out, (v - 15) as u64);
        }
        i += n;
    }
    out
}

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

/// The token of `decisions` of `program`.
pub fn encode(program: &str, decisions: &[u32]) -> String {
    let head = format!("{VERSION}.{program}.");
    let mut body = payload(decisions);
    let mut crc = Crc32::new();
    crc.update(head.as_bytes());
    crc.update(&body);
    body.extend_from_slice(&crc.finish().to_le_bytes());
    head + &base64url(&body)
}

/// Decodes and verifies a token. Whitespace anywhere in it is ignored (a token
/// copied from a wrapped terminal line); everything else must be exactly as
/// [`encode`] wrote it.
pub fn decode(token: &str) -> Result<Token, TokenError> {
    let token: String = token.chars().filter(|c| !c.is_whitespace()).collect();
    let dotted = format!("{VERSION}.");
    if !token.is_empty() && dotted.starts_with(&token) {
        return Err(damaged(format!("it ends after `{token}`")));
    }
    let Some((ver, rest)) = token.split_once('.') else {
        return Err(if token.starts_with(VERSION) {
            damaged("it has no program name")
        } else {
            TokenError::Format
        });
    };
    if ver != VERSION {
        return Err(version_error(ver, rest));
    }
    let Some((program, body)) = rest.rsplit_once('.') else {
        return Err(damaged(
            "it ends inside the program name (before the decisions)",
        ));
    };
    if program.is_empty() {
        return Err(damaged("it has no program name"));
    }
    let head_len = ver.len() + program.len() + 2;
    let (bytes, tail) = unbase64(body, head_len)?;
    if bytes.len() < 5 {
        return Err(damaged(
            "it ends early (too short to hold its length and checksum)",
        ));
    }
    let (pay, sum) = bytes.split_at(bytes.len() - 4);
    let given = u32::from_le_bytes(sum.try_into().expect("4 bytes"));
    let mut crc = Crc32::new();
    crc.update(&token.as_bytes()[..head_len]);
    crc.update(pay);
    let crc_ok = crc.finish() == given;
    let decisions = match parse_payload(pay) {
        Ok(d) => d,
        // A damaged token parses as anything, and its checksum would fail too: the
        // parse only says what the damage looks like.
        Err(why) => return Err(damaged(why)),
    };
    if let Some(why) = tail {
        return Err(damaged(why));
    }
    if !crc_ok {
        return Err(damaged(
            "its checksum does not match (characters were changed)",
        ));
    }
    if encode(program, &decisions) != token {
        return Err(damaged(
            "it is not written the way usb-offload writes tokens",
        ));
    }
    Ok(Token {
        program: program.to_string(),
        decisions,
    })
}

fn version_error(ver: &str, rest: &str) -> TokenError {
    let Some(n) = ver.strip_prefix("uo").and_then(|n| n.parse::<u32>().ok()) else {
        return TokenError::Format;
    };
    let this: u32 = VERSION[2..].parse().expect("version number");
    if n == 1 {
        // A `uo1` body is lower-case base32; anything else is a damaged newer token.
        let body = rest.rsplit_once('.').map_or("", |(_, b)| b);
        if body.is_empty() || !body.bytes().all(|b| UO1_ALPHABET.contains(&b)) {
            return damaged(format!(
                "it starts with `{ver}.` but is not a `{ver}` token"
            ));
        }
    }
    if n < this {
        TokenError::Old(ver.to_string())
    } else {
        TokenError::Newer(ver.to_string())
    }
}

/// The bytes of a base64url body, and what is wrong with its last character if
/// anything (the checks on it come after those that say more).
fn unbase64(body: &str, offset: usize) -> Result<(Vec<u8>, Option<&'static str>), TokenError> {
    let mut bytes = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in body.chars().enumerate() {
        let v = ALPHABET
            .iter()
            .position(|&a| a as char == c)
            .ok_or_else(|| {
                damaged(format!(
                    "character {} (`{c}`) cannot occur in a token",
                    offset + i + 1
                ))
            })?;
        acc = ((acc << 6) | v as u32) & 0xfff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push(((acc >> bits) & 0xff) as u8);
        }
    }
    // 6 leftover bits are a whole character no encoder writes; fewer must be zero.
    let tail = if bits == 6 {
        Some("it has one character too many or too few at the end")
    } else if acc & ((1 << bits) - 1) != 0 {
        Some("its last character was changed")
    } else {
        None
    };
    Ok((bytes, tail))
}

fn parse_payload(pay: &[u8]) -> Result<Vec<u32>, String> {
    let mut pos = 0;
    let len = get_varint(pay, &mut pos).ok_or("it looks cut short (it ends inside its length)")?;
    if len > MAX_DECISIONS {
        return Err(format!(
            "it declares {len} decisions, more than any execution makes"
        ));
    }
    let mut decisions = Vec::with_capacity(len.min(1 << 12) as usize);
    while pos < pay.len() {
        let z = get_varint(pay, &mut pos).ok_or_else(|| ends_early(decisions.len(), len))?;
        let mut v = z & 15;
        if v == 15 {
            let extra =
                get_varint(pay, &mut pos).ok_or_else(|| ends_early(decisions.len(), len))?;
            v = 15u64.saturating_add(extra);
        }
        let n = (z >> 4).saturating_add(1);
        if v > u32::MAX as u64 {
            return Err("it holds a decision out of range".into());
        }
        if n > len - decisions.len() as u64 {
            return Err(extended(len));
        }
        decisions.extend(std::iter::repeat_n(v as u32, n as usize));
    }
    if (decisions.len() as u64) < len {
        return Err(ends_early(decisions.len(), len));
    }
    Ok(decisions)
}

/// The bytes end inside a run, or after fewer decisions than declared.
fn ends_early(have: usize, len: u64) -> String {
    if have as u64 >= len {
        extended(len)
    } else {
        format!("it looks cut short (it holds {have} of the {len} decisions it declares)")
    }
}

fn extended(len: u64) -> String {
    format!("it looks extended (it holds more than the {len} decisions it declares)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PROGRAM: &str = "v1-caller-locks/stream-vs-reset";

    /// The decisions of a lock-order finding of v0-core-locks/stream-vs-reset.
    fn sample() -> Vec<u32> {
        let runs: &[(u32, usize)] = &[
            (0, 41),
            (1, 56),
            (0, 6),
            (1, 5),
            (2, 4),
            (3, 4),
            (4, 24),
            (2, 5),
            (0, 1),
            (2, 2),
            (1, 28),
            (2, 5),
            (4, 3),
            (3, 11),
            (4, 3),
        ];
        runs.iter()
            .flat_map(|&(v, n)| std::iter::repeat_n(v, n))
            .collect()
    }

    fn runs() -> impl Strategy<Value = Vec<u32>> {
        let value = prop_oneof![4 => 0u32..20, 1 => any::<u32>()];
        proptest::collection::vec((value, 1usize..300), 0..40).prop_map(|rs| {
            rs.into_iter()
                .flat_map(|(v, n)| std::iter::repeat_n(v, n))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn round_trip_any(d in proptest::collection::vec(any::<u32>(), 0..200)) {
            let t = encode(PROGRAM, &d);
            let back = decode(&t).unwrap();
            prop_assert_eq!(back.decisions, d);
            prop_assert_eq!(back.program, PROGRAM);
        }

        #[test]
        fn round_trip_runs(d in runs()) {
            let t = encode(PROGRAM, &d);
            let back = decode(&t).unwrap();
            prop_assert_eq!(back.decisions, d);
            prop_assert_eq!(back.program, PROGRAM);
        }

        #[test]
        fn cut_tokens_are_rejected(d in runs(), cut in 1usize..50) {
            let t = encode(PROGRAM, &d);
            let k = t.len().saturating_sub(cut).max(1);
            prop_assert!(matches!(decode(&t[..k]), Err(TokenError::Damaged(_))));
        }
    }

    #[test]
    fn round_trip_edges() {
        for d in [
            vec![],
            vec![0],
            vec![15],
            vec![14, 15, 16],
            vec![u32::MAX; 3],
            vec![7; 100_000],
        ] {
            assert_eq!(decode(&encode("p", &d)).unwrap().decisions, d);
        }
        // Program names may hold dots; the body never does.
        let t = encode("a.b/c", &[1, 2]);
        assert_eq!(decode(&t).unwrap().program, "a.b/c");
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(Crc32::of(b"123456789"), 0xCBF4_3926);
        assert_eq!(Crc32::of(b""), 0);
        assert_eq!(
            Crc32::of(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn sample_is_short() {
        let t = encode(PROGRAM, &sample());
        let body = t.rsplit_once('.').unwrap().1;
        assert!(body.len() <= 40, "{t}");
    }

    #[test]
    fn every_truncation_is_rejected() {
        let t = encode(PROGRAM, &sample());
        for k in 0..t.len() {
            let r = decode(&t[..k]);
            if k == 0 {
                assert_eq!(r, Err(TokenError::Format));
            } else {
                assert!(
                    matches!(r, Err(TokenError::Damaged(_))),
                    "cut to {k}: {:?}",
                    r
                );
            }
        }
    }

    #[test]
    fn appended_characters_are_rejected() {
        let t = encode(PROGRAM, &sample());
        let extra = ALPHABET.iter().map(|&c| (c as char).to_string()).chain(
            [".", "!", "AA", "AAAA", "uo2", "_-_-", ".AAAAAA", "é"]
                .iter()
                .map(|s| s.to_string()),
        );
        for e in extra {
            let r = decode(&format!("{t}{e}"));
            assert!(matches!(r, Err(TokenError::Damaged(_))), "+{e}: {r:?}");
        }
        // Whitespace around (and inside) a token is not part of it.
        assert!(decode(&format!("  {t}\n")).is_ok());
    }

    #[test]
    fn every_substitution_is_rejected() {
        let t = encode(PROGRAM, &sample());
        let subst: Vec<char> = ALPHABET
            .iter()
            .map(|&c| c as char)
            .chain(['.', '/', '!'])
            .collect();
        for i in 0..t.len() {
            for &c in &subst {
                if t.as_bytes()[i] as char == c {
                    continue;
                }
                let mut s = t.clone().into_bytes();
                s[i] = c as u8;
                let s = String::from_utf8(s).unwrap();
                let r = decode(&s);
                assert!(r.is_err(), "{i} -> {c}: {s} accepted");
                // Past the version, every change reads as damage.
                if i > VERSION.len() {
                    assert!(
                        matches!(r, Err(TokenError::Damaged(_))),
                        "{i} -> {c}: {r:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn damage_is_explained() {
        let t = encode(PROGRAM, &sample());
        let TokenError::Damaged(why) = decode(&t[..t.len() - 10]).unwrap_err() else {
            panic!()
        };
        assert!(why.contains("cut short"), "{why}");
        let TokenError::Damaged(why) = decode(&format!("{t}AAAA")).unwrap_err() else {
            panic!()
        };
        assert!(why.contains("extended"), "{why}");
        let msg = decode(&t[..t.len() - 10]).unwrap_err().to_string();
        assert!(msg.contains("damaged") && msg.contains("copy the whole token"));
    }

    #[test]
    fn rejects_foreign_and_old_tokens() {
        assert_eq!(decode("hello"), Err(TokenError::Format));
        assert_eq!(decode("xy.z.abc"), Err(TokenError::Format));
        assert_eq!(
            decode("uo1.v1-caller-locks/enable-disable.aaaaqcaib"),
            Err(TokenError::Old("uo1".into()))
        );
        assert!(decode("uo1.x.aaaa")
            .unwrap_err()
            .to_string()
            .contains("older version"));
        assert_eq!(decode("uo9.x.AAAA"), Err(TokenError::Newer("uo9".into())));
        assert!(matches!(decode("uo2.x.ab!"), Err(TokenError::Damaged(_))));
        // A declared length beyond any execution is not allocated.
        let mut pay = Vec::new();
        put_varint(&mut pay, u64::MAX >> 1);
        assert!(parse_payload(&pay).is_err());
        let mut pay = Vec::new();
        put_varint(&mut pay, 10);
        put_varint(&mut pay, u64::MAX);
        assert!(parse_payload(&pay).is_err());
    }
}
