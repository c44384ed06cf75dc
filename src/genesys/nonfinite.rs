//! Bare `NaN` and `Infinity` in a JSON body.
//!
//! JSON has no way to write them, but some writers emit them anyway (Jackson with
//! `ALLOW_NON_NUMERIC_NUMBERS`, for a 0/0 ratio). A strict parser then refuses the whole
//! body, and one odd stat would cost a query all its data. So when a body does not
//! parse, the client retries it with these tokens turned into `null`, which the lenient
//! response types skip and count as a warning.

/// The tokens replaced, longest first so `-Infinity` is not read as `-` + `Infinity`.
const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];

/// `body` with every bare `NaN`, `Infinity` and `-Infinity` outside strings replaced by
/// `null`, and how many were replaced; `None` when there was none.
pub fn replace_non_finite(body: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::with_capacity(body.len());
    let mut replaced = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < body.len() {
        let byte = body[i];
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if let Some(token) = TOKENS.iter().find(|t| body[i..].starts_with(t)) {
            out.extend_from_slice(b"null");
            replaced += 1;
            i += token.len();
            continue;
        }
        out.push(byte);
        i += 1;
    }
    (replaced > 0).then_some((out, replaced))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_bare_tokens_and_leaves_strings_alone() {
        let body = br#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN \" Infinity", "d": 1}"#;
        let (fixed, count) = replace_non_finite(body).unwrap();
        assert_eq!(count, 3);
        assert_eq!(
            String::from_utf8(fixed).unwrap(),
            r#"{"a": null, "b": [null, null], "c": "NaN \" Infinity", "d": 1}"#
        );
    }

    #[test]
    fn a_body_without_them_is_left_as_it_is() {
        assert_eq!(replace_non_finite(br#"{"NaN": "Infinity"}"#), None);
    }
}
