//! A regular file cut into nominal ranges ("pieces", [`PIECES_PER_THREAD`] per thread)
//! and read with positional reads (`pread`), each thread's into its own bounded buffer.
//!
//! The boundary rule is `counting/ranges.py`'s: a nominal cut at `p` (`0 < p < size`)
//! moves to just after the first safe byte at or after `p - 1`, or to the end of the file
//! when there is none. A range finds its start by scanning its own nominal bytes only (a
//! range with no safe byte before `end - 1` is empty: the range before reaches past it),
//! and its end by reading on past `end` up to the first safe byte. So a file with no safe
//! byte at all is read about twice (once by the first range, which counts it, and once in
//! pieces by the others, which find nothing), never once per thread.
//!
//! The last range reads on to the end of the file as it is when reached: a file that has
//! grown since its size was taken is counted whole, as streaming it would be (a file that
//! has shrunk is an error: its ranges no longer tile it).

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;

use crate::counter::Error;

/// Bytes read per `pread`: each thread holds one buffer of this size.
pub const READ_BUFFER: usize = 2 << 20;

/// The least bytes a range covers: no more ranges (threads) than the file holds of these.
/// Below it a thread's set-up and its own word table cost more than its share saves.
pub const MIN_RANGE: u64 = 1 << 20;

/// Bytes read past a piece's nominal end at first, looking for the safe byte that ends it.
const PAST_END_READ: u64 = 4 << 10;

/// Pieces per thread a file is cut into. The threads take the pieces in turn, each
/// counting its pieces into its own table: a thread slowed down (by other work on the
/// machine, or a slow read) leaves its share to the others instead of keeping them
/// waiting for its half, and the last piece ends soon after the others.
pub const PIECES_PER_THREAD: usize = 64;

/// How many nominal pieces a file of `size` bytes counted on `threads` threads is cut
/// into: [`PIECES_PER_THREAD`] per thread, but none shorter than `min_range` bytes (and
/// never fewer than `threads`).
pub fn piece_count(size: u64, threads: usize, min_range: u64) -> usize {
    let most = usize::try_from(size / min_range.max(1)).unwrap_or(usize::MAX);
    threads
        .saturating_mul(PIECES_PER_THREAD)
        .min(most)
        .max(threads)
}

/// What can be read at an offset: a file (and, in the tests, a file that counts reads).
pub trait ReadAt: Sync {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

/// `parts` nominal ranges `[start, end)` of equal size tiling `[0, size)`.
pub fn nominal_ranges(size: u64, parts: usize) -> Vec<(u64, u64)> {
    let parts = parts.max(1) as u128;
    let cut = |k: u128| (u128::from(size) * k / parts) as u64;
    (0..parts).map(|k| (cut(k), cut(k + 1))).collect()
}

/// Read at `offset` into `buf` (as much as one `pread` gives, at least one byte); a file
/// that ends before `size` is an error.
pub fn read_some(
    file: &impl ReadAt,
    buf: &mut [u8],
    offset: u64,
    size: u64,
) -> Result<usize, Error> {
    match read_up_to(file, buf, offset)? {
        0 => Err(shrank(offset, size)),
        n => Ok(n),
    }
}

fn shrank(offset: u64, size: u64) -> Error {
    Error::Io(format!(
        "the file ended at byte {offset}, before the {size} bytes expected \
         (it shrank while being read?)"
    ))
}

/// Read at `offset` into `buf` (as much as one `pread` gives; 0 at the end of the file).
pub fn read_up_to(file: &impl ReadAt, buf: &mut [u8], offset: u64) -> Result<usize, Error> {
    loop {
        match file.read_at(buf, offset) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Io(format!("reading at byte {offset}: {e}"))),
        }
    }
}

/// Where a range's bytes go, with the offset of each piece of them.
pub type Sink<'a> = dyn FnMut(u64, &[u8]) -> Result<(), Error> + 'a;

/// Pass the bytes of the piece of the nominal range `[start, end)` of the `size` bytes
/// of `file` to `sink`, in order, with their offsets; `buf` is the thread's buffer. The
/// last range (`end == size`) goes on to the file's end, past `size` if it has grown.
pub fn read_piece(
    file: &impl ReadAt,
    (start, end): (u64, u64),
    size: u64,
    find_safe: fn(&[u8]) -> Option<usize>,
    buf: &mut [u8],
    sink: &mut Sink<'_>,
) -> Result<(), Error> {
    if start >= end {
        return Ok(());
    }
    let mut pos = start.saturating_sub(1);
    if start > 0 {
        // The start: just after the first safe byte in [start - 1, end - 1).
        let stop = end - 1;
        loop {
            if pos >= stop {
                return Ok(()); // none: the piece is empty
            }
            let want = buf
                .len()
                .min(usize::try_from(stop - pos).unwrap_or(usize::MAX));
            let n = read_some(file, &mut buf[..want], pos, size)?;
            if let Some(i) = find_safe(&buf[..n]) {
                sink(pos + i as u64 + 1, &buf[i + 1..n])?;
                pos += n as u64;
                break;
            }
            pos += n as u64;
        }
    }
    if end == size {
        // The last piece: to the end of the file, wherever that is now.
        loop {
            let n = read_up_to(file, buf, pos)?;
            if n == 0 {
                return if pos < size {
                    Err(shrank(pos, size))
                } else {
                    Ok(())
                };
            }
            sink(pos, &buf[..n])?;
            pos += n as u64;
        }
    }
    // The end: just after the first safe byte at or after end - 1. Past end - 1 only the
    // bytes up to that safe byte are wanted (usually a few): read a little past it, more
    // each time none turns up, rather than a whole buffer per piece.
    let mut past = PAST_END_READ;
    while pos < size {
        let need = (end - 1).saturating_sub(pos).saturating_add(past);
        let want = buf
            .len()
            .min(usize::try_from((size - pos).min(need)).unwrap_or(usize::MAX));
        let n = read_some(file, &mut buf[..want], pos, size)?;
        let chunk = &buf[..n];
        let from = usize::try_from((end - 1).saturating_sub(pos)).unwrap_or(usize::MAX);
        if from < n {
            if let Some(i) = find_safe(&chunk[from..]) {
                return sink(pos, &chunk[..from + i + 1]);
            }
            past = past.saturating_mul(2);
        }
        sink(pos, chunk)?;
        pos += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn temp_file(data: &[u8]) -> File {
        let path = std::env::temp_dir().join(format!(
            "wordfreq-file-ranges-{}-{}",
            std::process::id(),
            data.len()
        ));
        let mut f = File::create(&path).unwrap();
        f.write_all(data).unwrap();
        let f = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    /// A file that counts the bytes read from it.
    struct Counted(File, AtomicU64);

    impl ReadAt for Counted {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
            let n = FileExt::read_at(&self.0, buf, offset)?;
            self.1.fetch_add(n as u64, Ordering::Relaxed);
            Ok(n)
        }
    }

    /// The pieces of `parts` ranges, and the bytes read to find them.
    fn pieces(data: &[u8], parts: usize, buf: usize) -> (Vec<Vec<u8>>, u64) {
        let file = Counted(temp_file(data), AtomicU64::new(0));
        let size = data.len() as u64;
        let mut buf = vec![0u8; buf];
        let mut out = Vec::new();
        for range in nominal_ranges(size, parts) {
            let mut piece = Vec::new();
            let mut expect = None;
            read_piece(
                &file,
                range,
                size,
                |s: &[u8]| s.iter().position(|&b| b == b' '),
                &mut buf,
                &mut |at, bytes| {
                    if let Some(e) = expect {
                        assert_eq!(at, e);
                    }
                    expect = Some(at + bytes.len() as u64);
                    piece.extend_from_slice(bytes);
                    Ok(())
                },
            )
            .unwrap();
            out.push(piece);
        }
        (out, file.1.load(Ordering::Relaxed))
    }

    #[test]
    fn pieces_tile_the_file_and_follow_the_rule() {
        let data = b"aaaa bbbb cccc dddd eeee";
        for parts in 1..=data.len() + 2 {
            for buf in [1, 2, 3, 64] {
                let (p, _) = pieces(data, parts, buf);
                assert_eq!(p.concat(), data.to_vec(), "{parts} {buf}");
                let mut cut = 0;
                for piece in &p {
                    cut += piece.len();
                    assert!(cut == 0 || cut == data.len() || data[cut - 1] == b' ');
                }
            }
        }
        // [0, 12) ends after the space at 14; [12, 24) starts there.
        assert_eq!(
            pieces(data, 2, 4).0,
            vec![b"aaaa bbbb cccc ".to_vec(), b"dddd eeee".to_vec()]
        );
        assert_eq!(nominal_ranges(10, 3), vec![(0, 3), (3, 6), (6, 10)]);
    }

    #[test]
    fn a_file_without_a_safe_byte_is_counted_by_the_first_range() {
        let data = vec![b'x'; 10_000];
        let (p, read) = pieces(&data, 8, 100);
        assert_eq!(p[0].len(), data.len());
        assert!(p[1..].iter().all(Vec::is_empty));
        // The first range reads it all; the others read their own bytes, once.
        assert!(read <= 2 * data.len() as u64, "{read}");
    }

    #[test]
    fn a_piece_reads_little_past_its_end() {
        // With a buffer larger than the file, each piece could read on to the end of the
        // file looking for its last safe byte (quadratic in the pieces).
        let data = b"aaaa bbbb ".repeat(10_000);
        let (p, read) = pieces(&data, 50, 1 << 20);
        assert_eq!(p.concat(), data);
        let bound = data.len() as u64 * 2 + 50 * PAST_END_READ;
        assert!(read <= bound, "{read} bytes read for {}", data.len());
    }

    #[test]
    fn a_short_file_is_an_error() {
        let file = temp_file(b"abc");
        let mut buf = vec![0u8; 8];
        let err = read_piece(
            &file,
            (0, 10),
            10,
            |s: &[u8]| s.iter().position(|&b| b == b' '),
            &mut buf,
            &mut |_, _| Ok(()),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Io(m) if m.contains("ended at byte 3")),
            "{err:?}"
        );
    }
}
