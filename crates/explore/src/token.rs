//! Replay tokens: the decision list of one execution (task chosen at each step, value
//! at each `choose`), as varints in base32, prefixed with a format version and the
//! program's name so a token of another model is rejected with a clear message.

use thiserror::Error;

const VERSION: &str = "uo1";
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("not a usb-offload replay token (expected it to start with `{VERSION}.`)")]
    Format,
    #[error("replay token of format `{0}`; this build reads `{VERSION}` tokens — re-run the search to get a fresh token")]
    Version(String),
    #[error("replay token is damaged at character {0}: `{1}` is not in the token alphabet")]
    Char(usize, char),
    #[error("replay token is truncated")]
    Truncated,
}

/// A decoded token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The program (for the model: `design/scenario`).
    pub program: String,
    pub decisions: Vec<u32>,
}

pub fn encode(program: &str, decisions: &[u32]) -> String {
    let mut bytes = Vec::with_capacity(decisions.len());
    for &d in decisions {
        let mut v = d;
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                bytes.push(b);
                break;
            }
            bytes.push(b | 0x80);
        }
    }
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    format!("{VERSION}.{program}.{out}")
}

pub fn decode(token: &str) -> Result<Token, TokenError> {
    let token = token.trim();
    let (ver, rest) = token.split_once('.').ok_or(TokenError::Format)?;
    if !ver.starts_with("uo") {
        return Err(TokenError::Format);
    }
    if ver != VERSION {
        return Err(TokenError::Version(ver.to_string()));
    }
    let (program, body) = rest.rsplit_once('.').ok_or(TokenError::Format)?;
    let mut bytes = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in body.chars().enumerate() {
        let v = ALPHABET
            .iter()
            .position(|&a| a as char == c)
            .ok_or(TokenError::Char(ver.len() + program.len() + 2 + i, c))?;
        acc = (acc << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push(((acc >> bits) & 0xff) as u8);
        }
    }
    let mut decisions = Vec::new();
    let (mut v, mut shift) = (0u32, 0u32);
    let mut open = false;
    for b in bytes {
        v |= ((b & 0x7f) as u32) << shift;
        if b & 0x80 != 0 {
            shift += 7;
            open = true;
            if shift > 28 {
                return Err(TokenError::Truncated);
            }
        } else {
            decisions.push(v);
            v = 0;
            shift = 0;
            open = false;
        }
    }
    if open {
        return Err(TokenError::Truncated);
    }
    Ok(Token {
        program: program.to_string(),
        decisions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(d in proptest::collection::vec(any::<u32>(), 0..200)) {
            let t = encode("v1-caller-locks/stream-vs-reset", &d);
            let back = decode(&t).unwrap();
            prop_assert_eq!(back.decisions, d);
            prop_assert_eq!(back.program, "v1-caller-locks/stream-vs-reset");
        }
    }

    #[test]
    fn rejects_foreign_tokens() {
        assert_eq!(decode("hello"), Err(TokenError::Format));
        assert_eq!(decode("uo0.x.abc"), Err(TokenError::Version("uo0".into())));
        assert!(matches!(decode("uo1.x.ab!"), Err(TokenError::Char(_, '!'))));
    }
}
