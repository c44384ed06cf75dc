//! Bare `NaN` and `Infinity` in a JSON body.
//!
//! JSON has no way to write them, but some writers emit them anyway (Jackson with
//! `ALLOW_NON_NUMERIC_NUMBERS`, for a 0/0 ratio). A strict parser then refuses the whole
//! body, and one odd stat would cost a query all its data. So the client reads these
//! tokens as `null`: a streamed aggregates body through [`NonFiniteAsNull`] as it comes
//! in, a whole one through [`replace_non_finite`] when it does not parse as it is; the
//! lenient response types skip them and count a warning.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The tokens replaced.
const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];

/// A `Read` of JSON with every bare `NaN`, `Infinity` and `-Infinity` outside strings
/// read as `null`, as the bytes stream through. In valid JSON these bytes cannot appear
/// outside strings, so a valid body reads unchanged.
pub struct NonFiniteAsNull<R> {
    inner: R,
    input: Box<[u8]>,
    /// Bytes ready to be read, from `ready_at` on.
    ready: Vec<u8>,
    ready_at: usize,
    /// The start of a token, held until it is known to be one (or not).
    held: Vec<u8>,
    in_string: bool,
    escaped: bool,
    /// Shared, so that it can be read after the reader is handed on by value
    /// ([`NonFiniteAsNull::replaced_tally`]).
    replaced: Arc<AtomicUsize>,
}

impl<R: Read> NonFiniteAsNull<R> {
    pub fn new(inner: R) -> Self {
        NonFiniteAsNull {
            inner,
            input: vec![0; 16 * 1024].into_boxed_slice(),
            ready: Vec::new(),
            ready_at: 0,
            held: Vec::new(),
            in_string: false,
            escaped: false,
            replaced: Arc::default(),
        }
    }

    /// How many tokens were read as `null` so far.
    pub fn replaced(&self) -> usize {
        self.replaced.load(Ordering::Relaxed)
    }

    /// The count of [`NonFiniteAsNull::replaced`], readable once the reader is given
    /// away: serde_json reads a `BufReader` it owns byte by byte from its buffer, and
    /// one it borrows through a call per byte.
    pub fn replaced_tally(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.replaced)
    }

    /// Takes `input`: the bytes that cannot start a token or end a string go through
    /// in runs, the others one by one through [`NonFiniteAsNull::push`].
    fn take(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            if self.held.is_empty() && !self.escaped {
                let special = |byte: &u8| match self.in_string {
                    true => matches!(byte, b'"' | b'\\'),
                    false => matches!(byte, b'"' | b'N' | b'I' | b'-'),
                };
                let run = input.iter().position(special).unwrap_or(input.len());
                self.ready.extend_from_slice(&input[..run]);
                input = &input[run..];
                let Some((&byte, rest)) = input.split_first() else {
                    break;
                };
                self.push(byte);
                input = rest;
            } else {
                self.push(input[0]);
                input = &input[1..];
            }
        }
    }

    fn push(&mut self, byte: u8) {
        if self.in_string {
            match (self.escaped, byte) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            self.ready.push(byte);
            return;
        }
        if self.held.is_empty() && !matches!(byte, b'N' | b'I' | b'-') {
            self.in_string = byte == b'"';
            self.ready.push(byte);
            return;
        }
        self.held.push(byte);
        if TOKENS.contains(&&self.held[..]) {
            self.ready.extend_from_slice(b"null");
            self.replaced.fetch_add(1, Ordering::Relaxed);
            self.held.clear();
        } else if !TOKENS.iter().any(|token| token.starts_with(&self.held)) {
            // Not a token (a negative number, say): the bytes go through, the last one
            // read afresh, since it may start a string or a token of its own.
            self.held.pop();
            self.ready.append(&mut self.held);
            self.push(byte);
        }
    }
}

impl<R: Read> Read for NonFiniteAsNull<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.ready_at == self.ready.len() {
            self.ready.clear();
            self.ready_at = 0;
            let n = self.inner.read(&mut self.input)?;
            if n == 0 {
                // The end: a token's start held is no token.
                self.ready.append(&mut self.held);
                if self.ready.is_empty() {
                    return Ok(0);
                }
                break;
            }
            let input = std::mem::take(&mut self.input);
            self.take(&input[..n]);
            self.input = input;
        }
        let available = &self.ready[self.ready_at..];
        let n = out.len().min(available.len());
        out[..n].copy_from_slice(&available[..n]);
        self.ready_at += n;
        Ok(n)
    }
}

/// `body` with every bare `NaN`, `Infinity` and `-Infinity` outside strings replaced by
/// `null`, and how many were replaced; `None` when there was none.
pub fn replace_non_finite(body: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut reader = NonFiniteAsNull::new(body);
    let mut out = Vec::with_capacity(body.len());
    reader.read_to_end(&mut out).ok()?;
    (reader.replaced() > 0).then_some((out, reader.replaced()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `body` read through the filter `chunk` bytes at a time.
    fn filtered(body: &[u8], chunk: usize) -> (String, usize) {
        struct Chunks<'a>(&'a [u8], usize);
        impl Read for Chunks<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut reader = NonFiniteAsNull::new(Chunks(body, chunk));
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        (text, reader.replaced())
    }

    #[test]
    fn replaces_bare_tokens_and_leaves_strings_alone_at_any_chunk_boundary() {
        let body = br#"{"a": NaN, "b": [Infinity, -Infinity, -1.5e-3], "c": "NaN \" Infinity", "d": -Nope, "e": 1}"#;
        for chunk in [1, 2, 3, 7, 1000] {
            assert_eq!(
                filtered(body, chunk),
                (
                    r#"{"a": null, "b": [null, null, -1.5e-3], "c": "NaN \" Infinity", "d": -Nope, "e": 1}"#
                        .to_string(),
                    3
                ),
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn a_whole_body_is_replaced_at_once() {
        let (fixed, count) = replace_non_finite(br#"{"a": NaN, "b": "NaN"}"#).unwrap();
        assert_eq!((&fixed[..], count), (&br#"{"a": null, "b": "NaN"}"#[..], 1));
        assert_eq!(replace_non_finite(br#"{"NaN": "Infinity"}"#), None);
    }

    #[test]
    fn a_body_without_them_is_left_as_it_is() {
        let body = br#"{"NaN": "Infinity", "x": [-1, -0.5], "end": "N"}"#;
        assert_eq!(
            filtered(body, 4),
            (String::from_utf8(body.to_vec()).unwrap(), 0)
        );
        // A token's start at the very end is no token.
        assert_eq!(filtered(b"[1, Inf", 3), ("[1, Inf".to_string(), 0));
    }
}
