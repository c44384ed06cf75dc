//! One gzip stream built from pieces compressed at different times.
//!
//! The conversation series are compressed once per poll, while the self-metrics that
//! follow them in a scrape change between scrapes. Two gzip members back to back are
//! valid gzip, but not every reader takes them: curl's `--compressed` stops with an error
//! after the first. So each piece is compressed on its own as raw deflate blocks: a
//! leading piece ends with a sync flush (byte-aligned, not final), the last piece with the
//! final block. A scrape sends the gzip header, the pieces, and a trailer with the CRC-32
//! combined from the pieces' CRCs: one ordinary gzip member.

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress, Status};

/// Compression level. Compressing is most of a poll's CPU time; level 2 is markedly
/// quicker than 3 for a few percent more bytes per scrape, while level 1 sends much more
/// (the figures: BENCHMARKS.md, "Poll cost").
const LEVEL: u32 = 2;

/// A leading piece is cut into parts of at least this size, compressed side by side on
/// up to [`MAX_THREADS`] threads: deflate is most of a poll's CPU time, and the cores are
/// otherwise idle then. Each part loses only the 32 KiB window of matches its predecessor
/// would have lent it (under 1% of the compressed size at this size), and a thread costs
/// microseconds against the milliseconds a part takes.
const MIN_PART: usize = 256 * 1024;
/// Most threads one compression uses, leaving cores to scrapes on bigger machines.
const MAX_THREADS: usize = 4;

/// The gzip header: deflate, no name, no modification time, unknown OS.
const HEADER: Bytes = Bytes::from_static(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/// Some bytes compressed as raw deflate, with what the gzip trailer needs to know of
/// them. The default piece is empty: no bytes, no deflate blocks.
#[derive(Clone, Debug, Default)]
pub struct Piece {
    pub deflate: Bytes,
    crc: crc32fast::Hasher,
    len: u64,
}

impl Piece {
    /// A piece that more pieces follow. A large one is compressed in parts on several
    /// threads (see [`MIN_PART`]); each part ends with a sync flush, so their deflate
    /// blocks, one after the other, are one valid stream.
    pub fn leading(bytes: &[u8]) -> Piece {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS)
            .min(bytes.len() / MIN_PART)
            .max(1);
        Piece::leading_in_parts(bytes, threads)
    }

    /// A leading piece compressed as `threads` parts side by side.
    fn leading_in_parts(bytes: &[u8], threads: usize) -> Piece {
        if threads <= 1 {
            return Piece::new(bytes, FlushCompress::Sync);
        }
        let parts: Vec<Piece> = std::thread::scope(|scope| {
            let handles: Vec<_> = bytes
                .chunks(bytes.len().div_ceil(threads))
                .map(|part| {
                    let spawned = std::thread::Builder::new()
                        .name("gzip".into())
                        .spawn_scoped(scope, move || Piece::new(part, FlushCompress::Sync));
                    // No thread to be had: compress this part here instead.
                    spawned.map_err(|_| Piece::new(part, FlushCompress::Sync))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| match handle {
                    Ok(thread) => thread
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    Err(compressed_here) => compressed_here,
                })
                .collect()
        });
        let mut deflate = Vec::with_capacity(parts.iter().map(|p| p.deflate.len()).sum());
        let mut crc = crc32fast::Hasher::new();
        for part in &parts {
            deflate.extend_from_slice(&part.deflate);
            crc.combine(&part.crc);
        }
        Piece {
            deflate: Bytes::from(deflate),
            crc,
            len: bytes.len() as u64,
        }
    }

    /// The piece that ends the stream.
    pub fn last(bytes: &[u8]) -> Piece {
        Piece::new(bytes, FlushCompress::Finish)
    }

    fn new(bytes: &[u8], flush: FlushCompress) -> Piece {
        let mut crc = crc32fast::Hasher::new();
        crc.update(bytes);
        Piece {
            deflate: Bytes::from(deflate(bytes, flush)),
            crc,
            len: bytes.len() as u64,
        }
    }
}

/// The whole gzip member: a leading piece followed by the last one.
pub fn member(leading: &Piece, last: &Piece) -> Vec<Bytes> {
    vec![
        HEADER,
        leading.deflate.clone(),
        last.deflate.clone(),
        trailer(&[leading, last]),
    ]
}

/// The gzip trailer of the pieces, in order: their CRC-32 and their length modulo 2^32.
fn trailer(pieces: &[&Piece]) -> Bytes {
    let mut crc = crc32fast::Hasher::new();
    let mut len: u64 = 0;
    for piece in pieces {
        crc.combine(&piece.crc);
        len += piece.len;
    }
    let mut trailer = Vec::with_capacity(8);
    trailer.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE is defined as the length modulo 2^32: the truncation is the format's.
    trailer.extend_from_slice(&(len as u32).to_le_bytes());
    Bytes::from(trailer)
}

/// Raw deflate of `bytes`, ended by `flush` (`Sync`: byte-aligned and open for more
/// blocks; `Finish`: with the final block).
fn deflate(bytes: &[u8], flush: FlushCompress) -> Vec<u8> {
    let mut compress = Compress::new(Compression::new(LEVEL), false);
    let mut out = Vec::with_capacity(bytes.len() / 8 + 64);
    loop {
        let consumed = usize::try_from(compress.total_in()).unwrap_or(bytes.len());
        let status = compress
            .compress_vec(&bytes[consumed.min(bytes.len())..], &mut out, flush)
            // Compressing from memory into memory fails only on misuse of the stream,
            // which this function does not do.
            .unwrap_or(Status::StreamEnd);
        let input_done = compress.total_in() == bytes.len() as u64;
        // A sync flush is complete once all input is in and the output was not filled.
        if status == Status::StreamEnd
            || (flush == FlushCompress::Sync && input_done && out.len() < out.capacity())
        {
            return out;
        }
        out.reserve(out.capacity().max(4096));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Decodes one gzip member only, as curl does, and checks that it is the whole body:
    /// the reader stops at the first member's trailer (a buffered reader over the bytes
    /// takes no more than it uses), nothing may follow that trailer, and the trailer's
    /// CRC-32 and length are those of everything decoded.
    fn gunzip_one_member(bytes: &[u8]) -> Vec<u8> {
        let mut decoder = flate2::bufread::GzDecoder::new(bytes);
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).unwrap();
        let after_trailer = decoder.into_inner();
        assert!(
            after_trailer.is_empty(),
            "{} bytes after the first member's trailer",
            after_trailer.len()
        );
        let trailer = &bytes[bytes.len() - 8..];
        assert_eq!(trailer[..4], crc32fast::hash(&out).to_le_bytes());
        assert_eq!(trailer[4..], (out.len() as u32).to_le_bytes());
        out
    }

    fn joined(chunks: Vec<Bytes>) -> Vec<u8> {
        chunks.concat()
    }

    #[test]
    fn a_leading_and_a_last_piece_make_one_member() {
        let head: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("series{{n=\"{i}\"}} {i}\n").into_bytes())
            .collect();
        let tail = b"own_metric 1\n# EOF\n";
        let body = joined(member(&Piece::leading(&head), &Piece::last(tail)));
        let mut expected = head.clone();
        expected.extend_from_slice(tail);
        assert_eq!(gunzip_one_member(&body), expected);
        assert!(body.len() < head.len() / 4, "compressed to {}", body.len());
    }

    #[test]
    fn a_piece_compressed_in_parts_is_one_stream() {
        let head: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("series{{n=\"{}\"}} {i}\n", i % 1000).into_bytes())
            .collect();
        let parted = Piece::leading_in_parts(&head, 3);
        let whole = Piece::new(&head, FlushCompress::Sync);
        let body = joined(member(&parted, &Piece::last(b"tail\n")));
        let mut expected = head.clone();
        expected.extend_from_slice(b"tail\n");
        assert_eq!(gunzip_one_member(&body), expected);
        // Parts cost next to nothing in size.
        assert!(
            parted.deflate.len() <= whole.deflate.len() + whole.deflate.len() / 50,
            "{} bytes in parts against {} whole",
            parted.deflate.len(),
            whole.deflate.len()
        );
    }

    #[test]
    fn empty_pieces_still_make_a_valid_member() {
        let body = joined(member(&Piece::leading(b""), &Piece::last(b"")));
        assert_eq!(gunzip_one_member(&body), b"");
        let body = joined(member(&Piece::leading(b""), &Piece::last(b"x")));
        assert_eq!(gunzip_one_member(&body), b"x");
        let body = joined(member(&Piece::default(), &Piece::last(b"x")));
        assert_eq!(gunzip_one_member(&body), b"x");
    }

    #[test]
    fn a_leading_piece_can_be_reused_with_another_last_piece() {
        let leading = Piece::leading(b"conversations 1\n");
        for tail in [&b"a 1\n"[..], b"a 2\n"] {
            let body = joined(member(&leading, &Piece::last(tail)));
            let mut expected = b"conversations 1\n".to_vec();
            expected.extend_from_slice(tail);
            assert_eq!(gunzip_one_member(&body), expected);
        }
    }
}
