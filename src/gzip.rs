//! One gzip stream built from pieces compressed at different times.
//!
//! The exposition is kept as pieces, one per metric family and entry of the snapshot
//! ([`crate::snapshot`]), so that publishing one entry compresses only that entry's text;
//! the self-metrics that end a scrape change between scrapes. Two gzip members back to
//! back are valid gzip, but not every reader takes them: curl's `--compressed` stops
//! with an error after the first. So each piece is compressed on its own as raw deflate
//! blocks: a leading piece ends with a sync flush (byte-aligned, not final, and it never
//! refers back to bytes before it), the last piece with the final block. A scrape sends
//! the gzip header, the pieces, and a trailer with the CRC-32 combined from the pieces'
//! CRCs: one ordinary gzip member.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress, Status};

/// Compression level. Compressing is most of a poll's CPU time; level 2 is markedly
/// quicker than 3 for a few percent more bytes per scrape, while level 1 sends much more
/// (the figures: BENCHMARKS.md, "Poll cost").
const LEVEL: u32 = 2;

/// A span longer than this is compressed as parts of at most this size, so that the
/// threads share a large family's text too. Each part loses only the 32 KiB window of
/// matches its predecessor would have lent it (well under 1% of a part's compressed
/// size).
const PART: usize = 1024 * 1024;
/// Text per thread at least: below this a thread's start-up is not worth it (a thread
/// costs microseconds against the milliseconds 256 KiB takes).
const MIN_PER_THREAD: usize = 256 * 1024;
/// Most threads one compression uses, leaving cores to scrapes on bigger machines.
pub const MAX_THREADS: usize = 4;

/// The gzip header: deflate, no name, no modification time, unknown OS.
const HEADER: Bytes = Bytes::from_static(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/// What the gzip trailer needs to know of some bytes: their CRC-32 and length.
#[derive(Clone, Debug, Default)]
pub struct Sum {
    crc: crc32fast::Hasher,
    len: u64,
}

impl Sum {
    fn of(bytes: &[u8]) -> Sum {
        let mut crc = crc32fast::Hasher::new();
        crc.update(bytes);
        Sum {
            crc,
            len: bytes.len() as u64,
        }
    }

    /// The sum of these bytes followed by `next`'s.
    pub fn append(&mut self, next: &Sum) {
        self.crc.combine(&next.crc);
        self.len += next.len;
    }

    /// Uncompressed bytes summed.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Some bytes compressed as raw deflate, with what the gzip trailer needs to know of
/// them. The default piece is empty: no bytes, no deflate blocks.
#[derive(Clone, Debug, Default)]
pub struct Piece {
    pub deflate: Bytes,
    sum: Sum,
}

impl Piece {
    /// The piece that ends the stream.
    pub fn last(bytes: &[u8]) -> Piece {
        let mut deflate = Vec::new();
        compress_into(
            &mut new_compressor(),
            bytes,
            FlushCompress::Finish,
            &mut deflate,
        );
        Piece {
            deflate: Bytes::from(deflate),
            sum: Sum::of(bytes),
        }
    }
}

/// Leading pieces joined in order: their deflate chunks, sent one after the other, and
/// the sum of the bytes they hold.
#[derive(Clone, Debug, Default)]
pub struct Joined {
    chunks: Vec<Bytes>,
    sum: Sum,
}

impl Joined {
    /// Appends a leading piece: raw deflate ended with a sync flush (or nothing, for no
    /// bytes), and the sum of what it holds.
    pub fn push(&mut self, deflate: Bytes, sum: &Sum) {
        if !deflate.is_empty() {
            self.chunks.push(deflate);
        }
        self.sum.append(sum);
    }

    /// The deflate chunks, in order.
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// Compressed bytes in all.
    pub fn compressed_len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }
}

/// The whole gzip member: the leading pieces followed by the last one.
pub fn member(leading: &Joined, last: &Piece) -> Vec<Bytes> {
    let mut sum = leading.sum.clone();
    sum.append(&last.sum);
    let mut chunks = Vec::with_capacity(leading.chunks.len() + 3);
    chunks.push(HEADER);
    chunks.extend(leading.chunks.iter().cloned());
    chunks.push(last.deflate.clone());
    chunks.push(trailer(&sum));
    chunks
}

/// The gzip trailer: the CRC-32 and the length modulo 2^32.
fn trailer(sum: &Sum) -> Bytes {
    let mut trailer = Vec::with_capacity(8);
    trailer.extend_from_slice(&sum.crc.clone().finalize().to_le_bytes());
    // ISIZE is defined as the length modulo 2^32: the truncation is the format's.
    trailer.extend_from_slice(&(sum.len as u32).to_le_bytes());
    Bytes::from(trailer)
}

/// Spans of one text compressed as leading pieces, their deflate one after the other in
/// one buffer.
#[derive(Debug)]
pub struct Compressed {
    pub deflate: Bytes,
    /// Per span, in order: where its deflate lies in `deflate`, and the sum of its text.
    pub spans: Vec<(Range<usize>, Sum)>,
}

/// Compresses each of `spans` (ranges of `text`, in order, not overlapping) as a leading
/// piece of its own, so that any of them can be joined after any other piece. A large
/// text is compressed on up to [`MAX_THREADS`] threads, a long span in parts of at most
/// [`PART`] (each ended with a sync flush, so its parts are one piece): deflate is most
/// of a publish's CPU time, and the cores are otherwise idle then. `max_threads` caps
/// them below that: 1 for an entry published a few times a second, so that scrapes
/// always find a core.
pub fn compress_spans(text: &[u8], spans: &[Range<usize>], max_threads: usize) -> Compressed {
    // The jobs: every span's parts, in order, with the span each belongs to.
    let mut jobs: Vec<(usize, Range<usize>)> = Vec::with_capacity(spans.len());
    for (index, span) in spans.iter().enumerate() {
        let mut start = span.start;
        while start < span.end {
            let end = span.end.min(start + PART);
            jobs.push((index, start..end));
            start = end;
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(max_threads)
        .min(text.len() / MIN_PER_THREAD)
        .min(jobs.len())
        .max(1);
    let parts = compress_jobs(text, &jobs, threads);
    let mut deflate = Vec::with_capacity(parts.iter().map(|(d, _)| d.len()).sum());
    let mut compressed: Vec<(Range<usize>, Sum)> =
        spans.iter().map(|_| (0..0, Sum::default())).collect();
    let mut next_span = 0;
    for ((span, _), (part, sum)) in jobs.iter().zip(&parts) {
        // Spans without text (no job) start and end where the deflate stands.
        while next_span <= *span {
            compressed[next_span].0 = deflate.len()..deflate.len();
            next_span += 1;
        }
        deflate.extend_from_slice(part);
        let (range, span_sum) = &mut compressed[*span];
        range.end = deflate.len();
        span_sum.append(sum);
    }
    for (range, _) in &mut compressed[next_span..] {
        *range = deflate.len()..deflate.len();
    }
    Compressed {
        deflate: Bytes::from(deflate),
        spans: compressed,
    }
}

/// Compresses every job's range of `text` as a leading piece, on `threads` threads
/// taking jobs in turn; the results in job order.
fn compress_jobs(
    text: &[u8],
    jobs: &[(usize, Range<usize>)],
    threads: usize,
) -> Vec<(Vec<u8>, Sum)> {
    let next = AtomicUsize::new(0);
    // What one thread does: take the next job until none is left.
    let work = || {
        let mut compress = new_compressor();
        let mut done = Vec::new();
        while let Some((_, range)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
            let bytes = &text[range.clone()];
            let mut out = Vec::new();
            compress_into(&mut compress, bytes, FlushCompress::Sync, &mut out);
            done.push((range.start, out, Sum::of(bytes)));
        }
        done
    };
    let mut done = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            // A thread that cannot be had leaves its share to the others, this one too.
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("gzip".into())
                        .spawn_scoped(scope, work)
                        .ok()
                })
                .collect();
            let mut done = work();
            for helper in helpers {
                done.extend(
                    helper
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                );
            }
            done
        })
    };
    // Jobs are ranges of the text in order: their starts order them.
    done.sort_unstable_by_key(|(start, ..)| *start);
    done.into_iter().map(|(_, out, sum)| (out, sum)).collect()
}

fn new_compressor() -> Compress {
    Compress::new(Compression::new(LEVEL), false)
}

/// Appends raw deflate of `bytes` to `out`, starting afresh (no reference to anything
/// compressed before) and ended by `flush` (`Sync`: byte-aligned and open for more
/// blocks; `Finish`: with the final block). Nothing at all for no bytes and a sync flush.
fn compress_into(compress: &mut Compress, bytes: &[u8], flush: FlushCompress, out: &mut Vec<u8>) {
    if bytes.is_empty() && flush == FlushCompress::Sync {
        return;
    }
    compress.reset();
    out.reserve(bytes.len() / 8 + 64);
    loop {
        let consumed = usize::try_from(compress.total_in()).unwrap_or(bytes.len());
        let status = compress
            .compress_vec(&bytes[consumed.min(bytes.len())..], out, flush)
            // Compressing from memory into memory fails only on misuse of the stream,
            // which this function does not do.
            .unwrap_or(Status::StreamEnd);
        let input_done = compress.total_in() == bytes.len() as u64;
        // A sync flush is complete once all input is in and the output was not filled.
        if status == Status::StreamEnd
            || (flush == FlushCompress::Sync && input_done && out.len() < out.capacity())
        {
            return;
        }
        out.reserve(out.capacity().max(4096));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Read;

    use super::*;

    /// Decodes one gzip member only, as curl does, and checks that it is the whole body:
    /// the reader stops at the first member's trailer (a buffered reader over the bytes
    /// takes no more than it uses), nothing may follow that trailer, and the trailer's
    /// CRC-32 and length are those of everything decoded.
    pub(crate) fn gunzip_one_member(bytes: &[u8]) -> Vec<u8> {
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

    /// The whole of `text` as one span.
    fn whole(text: &[u8]) -> Vec<Range<usize>> {
        std::iter::once(0..text.len()).collect()
    }

    fn series_text(lines: u32, modulo: u32) -> Vec<u8> {
        (0..lines)
            .flat_map(|i| format!("series{{n=\"{}\"}} {i}\n", i % modulo).into_bytes())
            .collect()
    }

    /// The spans of `text` compressed, joined in the order `order` gives.
    fn joined(text: &[u8], spans: &[Range<usize>], order: &[usize]) -> Joined {
        let compressed = compress_spans(text, spans, MAX_THREADS);
        let mut joined = Joined::default();
        for &index in order {
            let (range, sum) = &compressed.spans[index];
            joined.push(compressed.deflate.slice(range.clone()), sum);
        }
        joined
    }

    #[test]
    fn leading_pieces_and_a_last_piece_make_one_member() {
        let head = series_text(200_000, 200_000);
        let tail = b"own_metric 1\n# EOF\n";
        let leading = joined(&head, &whole(&head), &[0]);
        let body = member(&leading, &Piece::last(tail)).concat();
        let mut expected = head.clone();
        expected.extend_from_slice(tail);
        assert_eq!(gunzip_one_member(&body), expected);
        assert!(body.len() < head.len() / 4, "compressed to {}", body.len());
    }

    #[test]
    fn spans_compressed_apart_join_in_any_order() {
        let text = series_text(30_000, 1_000);
        let spans = [0..1_000, 1_000..1_000, 1_000..400_000, 400_000..text.len()];
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]] {
            let body = member(&joined(&text, &spans, &order), &Piece::last(b"end\n")).concat();
            let mut expected: Vec<u8> = order
                .iter()
                .flat_map(|&i| text[spans[i].clone()].to_vec())
                .collect();
            expected.extend_from_slice(b"end\n");
            assert_eq!(gunzip_one_member(&body), expected, "order {order:?}");
        }
        // The empty span has no deflate blocks at all.
        assert!(
            compress_spans(&text, &spans, MAX_THREADS).spans[1]
                .0
                .is_empty()
        );
    }

    #[test]
    fn a_long_span_compressed_in_parts_is_one_piece() {
        let text = series_text(200_000, 1_000);
        assert!(text.len() > 2 * PART);
        let parted = compress_spans(&text, &whole(&text), MAX_THREADS);
        let mut single = Vec::new();
        compress_into(
            &mut new_compressor(),
            &text,
            FlushCompress::Sync,
            &mut single,
        );
        let body = member(&joined(&text, &whole(&text), &[0]), &Piece::last(b"tail\n")).concat();
        let mut expected = text.clone();
        expected.extend_from_slice(b"tail\n");
        assert_eq!(gunzip_one_member(&body), expected);
        // Parts cost next to nothing in size.
        assert!(
            parted.deflate.len() <= single.len() + single.len() / 50,
            "{} bytes in parts against {} whole",
            parted.deflate.len(),
            single.len()
        );
    }

    #[test]
    fn empty_pieces_still_make_a_valid_member() {
        let body = member(&Joined::default(), &Piece::last(b"")).concat();
        assert_eq!(gunzip_one_member(&body), b"");
        let body = member(&joined(b"", &whole(b""), &[0]), &Piece::last(b"x")).concat();
        assert_eq!(gunzip_one_member(&body), b"x");
    }

    #[test]
    fn joined_pieces_can_be_reused_with_another_last_piece() {
        let leading = joined(b"conversations 1\n", &whole(b"conversations 1\n"), &[0]);
        for tail in [&b"a 1\n"[..], b"a 2\n"] {
            let body = member(&leading, &Piece::last(tail)).concat();
            let mut expected = b"conversations 1\n".to_vec();
            expected.extend_from_slice(tail);
            assert_eq!(gunzip_one_member(&body), expected);
        }
    }
}
