//! Small text codecs the simulator needs (Basic-auth base64, form/query strings, UUIDs).
//!
//! Base64 is the `base64` crate's, which the exporter's basic authentication uses too;
//! the form decoding is written out here because the simulator only needs the decoding
//! side and must never panic on whatever a client sends.

use crate::world::uuid_from_bits;

/// Decodes standard base64 (with or without `=` padding, as clients differ). `None` on
/// any invalid input, so a malformed `Authorization: Basic` header becomes a 401, not a
/// panic.
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT_PADDING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT_PADDING.decode(input.trim()).ok()
}

/// Percent-decodes one component of `application/x-www-form-urlencoded` text
/// (`+` means space). Invalid escapes are kept literally, as browsers do.
pub(crate) fn url_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a query string or form body into decoded `(key, value)` pairs, in order.
pub(crate) fn form_pairs(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (url_decode(k), url_decode(v)),
            None => (url_decode(part), String::new()),
        })
        .collect()
}

/// Lower-case hex of some bytes (used for opaque token strings).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// A random UUID for correlation / context ids.
pub(crate) fn random_uuid() -> String {
    uuid_from_bits(rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(
            base64_decode("ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ=").as_deref(),
            Some(&b"demo-client:demo-secret"[..])
        );
        assert_eq!(base64_decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(base64_decode("").as_deref(), Some(&b""[..]));
        assert!(base64_decode("Y").is_none());
        assert!(base64_decode("a$b=").is_none());
    }

    #[test]
    fn url_decoding_handles_plus_escapes_and_garbage() {
        assert_eq!(url_decode("a+b%20c%2Fd"), "a b c/d");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert_eq!(url_decode("%4"), "%4");
        assert_eq!(
            form_pairs("grant_type=client_credentials&x&y=1"),
            vec![
                ("grant_type".to_string(), "client_credentials".to_string()),
                ("x".to_string(), String::new()),
                ("y".to_string(), "1".to_string())
            ]
        );
    }

    #[test]
    fn uuid_shape() {
        let u = uuid_from_bits(0);
        assert_eq!(u, "00000000-0000-4000-8000-000000000000");
        let u = uuid_from_bits(u128::MAX);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
