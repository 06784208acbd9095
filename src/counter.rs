//! The streaming counter: chooses the decoding from the start of the stream, carries
//! unfinished words between chunks, counts large chunks on all cores, merges counters.

use std::fmt;

use rayon::prelude::*;

use crate::decode::{detect, ByteDecoding, Decoding, Encoding, Utf16Decoder};
use crate::seed::{self, SeedWords};
use crate::split::split;
use crate::tally::{Report, Tally};
use crate::words::{self, ByteWords};

/// Chunks at least this long are split across the cores.
pub const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// Counting mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Letters-and-marks words, decoded and normalised.
    Words,
    /// The original Go worker's behaviour.
    Seed,
}

impl Mode {
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "words" => Some(Mode::Words),
            "seed" => Some(Mode::Seed),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Words => "words",
            Mode::Seed => "seed",
        }
    }
}

/// What a caller can get wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    UnknownMode(String),
    UnknownEncoding(String),
    EncodingInSeedMode,
    Finished,
    ModeMismatch { ours: Mode, theirs: Mode },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownMode(m) => write!(f, "unknown mode {m:?}; expected one of words, seed"),
            Error::UnknownEncoding(e) => write!(
                f,
                "unknown encoding {e:?}; expected one of utf-8, cp1252, latin-1, utf-16"
            ),
            Error::EncodingInSeedMode => {
                write!(
                    f,
                    "seed mode reads raw bytes as the Go worker did; no encoding"
                )
            }
            Error::Finished => write!(f, "counter is finished; no more input"),
            Error::ModeMismatch { ours, theirs } => write!(
                f,
                "cannot merge a {} counter into a {} one",
                theirs.name(),
                ours.name()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The tokenizer for the decoding in use.
#[derive(Clone, Debug)]
enum Scanner {
    Bytes(ByteWords),
    Seed(SeedWords),
}

impl Scanner {
    fn feed(&mut self, buf: &[u8], tally: &mut Tally) {
        match self {
            Scanner::Bytes(s) => s.feed(buf, tally),
            Scanner::Seed(s) => s.feed(buf, tally),
        }
    }

    fn finish(&mut self, tally: &mut Tally) {
        match self {
            Scanner::Bytes(s) => s.finish(tally),
            Scanner::Seed(s) => s.finish(tally),
        }
    }

    /// The test for a byte after which the input can be split.
    fn safe_byte(&self) -> fn(u8) -> bool {
        match self {
            Scanner::Bytes(_) => words::is_safe_split_byte,
            Scanner::Seed(_) => seed::is_safe_split_byte,
        }
    }

    /// A scanner of the same decoding in the state right after a safe byte.
    fn fresh(&self) -> Scanner {
        match self {
            Scanner::Bytes(s) => Scanner::Bytes(s.fresh()),
            Scanner::Seed(s) => Scanner::Seed(s.fresh()),
        }
    }

    fn is_clean(&self) -> bool {
        match self {
            Scanner::Bytes(s) => s.is_clean(),
            Scanner::Seed(s) => s.is_clean(),
        }
    }
}

/// A streaming word counter.
#[derive(Debug)]
pub struct Counter {
    mode: Mode,
    encoding: Encoding,
    /// The first bytes of the stream while the decoding is not yet known (BOM sniffing).
    head: Vec<u8>,
    scanner: Option<Scanner>,
    /// UTF-16 input is transcoded to UTF-8 (in `utf8`) and then scanned as UTF-8.
    utf16: Option<Utf16Decoder>,
    utf8: Vec<u8>,
    /// `tallies[0]` is the counter's table; the others hold counts of parallel pieces
    /// until the counter finishes.
    tallies: Vec<Tally>,
    finished: bool,
    parallel_min: usize,
    threads: usize,
}

impl Counter {
    /// A counter for `mode` (`"words"` or `"seed"`) and `encoding` (`None` to detect, or
    /// `"utf-8"`, `"cp1252"`, `"latin-1"`, `"utf-16"`; words mode only).
    pub fn new(mode: &str, encoding: Option<&str>) -> Result<Counter, Error> {
        let mode = Mode::from_name(mode).ok_or_else(|| Error::UnknownMode(mode.to_string()))?;
        let enc = Encoding::from_name(encoding)
            .ok_or_else(|| Error::UnknownEncoding(encoding.unwrap_or_default().to_string()))?;
        let scanner = match mode {
            Mode::Seed if encoding.is_some() => return Err(Error::EncodingInSeedMode),
            Mode::Seed => Some(Scanner::Seed(SeedWords::new())),
            Mode::Words => None,
        };
        let mut counter = Counter {
            mode,
            encoding: enc,
            head: Vec::new(),
            scanner,
            utf16: None,
            utf8: Vec::new(),
            tallies: vec![Tally::new()],
            finished: false,
            parallel_min: PARALLEL_MIN_BYTES,
            threads: 0,
        };
        if mode == Mode::Words {
            if let Some((dec, bom)) = detect(enc, &[], false) {
                counter.start(dec, bom);
            }
        }
        Ok(counter)
    }

    /// Tune parallel counting: chunks of at least `min_bytes` are split in `threads`
    /// pieces (0: one per thread of the rayon pool). For tests and benchmarks.
    pub fn set_parallelism(&mut self, min_bytes: usize, threads: usize) {
        self.parallel_min = min_bytes;
        self.threads = threads;
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The encoding asked for (`None`: detection).
    pub fn encoding(&self) -> Option<&'static str> {
        self.encoding.name()
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Count the next chunk of input. A word may straddle chunks.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), Error> {
        if self.finished {
            return Err(Error::Finished);
        }
        while self.scanner.is_none() {
            let Some((&b, rest)) = data.split_first() else {
                return Ok(());
            };
            self.head.push(b);
            data = rest;
            if let Some((dec, bom)) = detect(self.encoding, &self.head, false) {
                self.start(dec, bom);
            }
        }
        self.run(data);
        Ok(())
    }

    /// The decoding is known: make its scanner and count the sniffed bytes after the BOM.
    fn start(&mut self, decoding: Decoding, bom: usize) {
        let dec = match decoding {
            Decoding::Bytes(dec) => dec,
            Decoding::Utf16 { big_endian } => {
                self.utf16 = Some(Utf16Decoder::new(big_endian));
                ByteDecoding::Utf8Replace
            }
        };
        self.scanner = Some(Scanner::Bytes(ByteWords::new(dec)));
        let head = std::mem::take(&mut self.head);
        self.run(head.get(bom..).unwrap_or_default());
    }

    fn run(&mut self, data: &[u8]) {
        if let Some(utf16) = self.utf16.as_mut() {
            let mut utf8 = std::mem::take(&mut self.utf8);
            utf8.clear();
            utf16.decode_to_utf8(data, &mut utf8);
            self.count(&utf8);
            self.utf8 = utf8;
        } else {
            self.count(data);
        }
    }

    fn count(&mut self, data: &[u8]) {
        let Some(scanner) = self.scanner.as_mut() else {
            return;
        };
        let threads = match self.threads {
            0 => rayon::current_num_threads(),
            n => n,
        };
        if threads > 1 && data.len() >= self.parallel_min {
            let pieces = split(data, threads, scanner.safe_byte());
            if pieces.len() > 1 {
                self.run_parallel(&pieces);
                return;
            }
        }
        scanner.feed(data, &mut self.tallies[0]);
    }

    /// Count pieces that each end with a safe byte (but the last) on several threads:
    /// the first continues the carried state, the others start fresh, and the state at
    /// the end of the last piece is carried on.
    fn run_parallel(&mut self, pieces: &[&[u8]]) {
        let Some(first) = self.scanner.take() else {
            return;
        };
        let mut scanners = Vec::with_capacity(pieces.len());
        for _ in 1..pieces.len() {
            scanners.push(first.fresh());
        }
        scanners.insert(0, first);
        while self.tallies.len() < pieces.len() {
            self.tallies.push(Tally::new());
        }
        scanners
            .par_iter_mut()
            .zip(pieces.par_iter())
            .zip(self.tallies.par_iter_mut())
            .for_each(|((scanner, piece), tally)| scanner.feed(piece, tally));
        self.scanner = scanners.pop();
        debug_assert!(scanners.iter().all(Scanner::is_clean));
    }

    /// End of input: count whatever is pending. Idempotent.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        if self.scanner.is_none() {
            let utf8 = (Decoding::Bytes(ByteDecoding::Utf8Fallback), 0);
            let (dec, bom) = detect(self.encoding, &self.head, true).unwrap_or(utf8);
            self.start(dec, bom);
        }
        if let Some(mut utf16) = self.utf16.take() {
            let mut rest = Vec::new();
            utf16.finish_to_utf8(&mut rest);
            self.count(&rest);
        }
        self.utf8 = Vec::new();
        if let Some(scanner) = self.scanner.as_mut() {
            scanner.finish(&mut self.tallies[0]);
        }
        let mut rest = self.tallies.split_off(1);
        while let Some(t) = rest.pop() {
            if !t.is_empty() {
                self.tallies[0].absorb(t);
            }
        }
        self.finished = true;
    }

    /// Add `other`'s counts into this counter (both are finished first; same mode).
    pub fn merge(&mut self, other: &mut Counter) -> Result<(), Error> {
        if self.mode != other.mode {
            return Err(Error::ModeMismatch {
                ours: self.mode,
                theirs: other.mode,
            });
        }
        self.finish();
        other.finish();
        self.tallies[0].merge_from(&other.tallies[0]);
        Ok(())
    }

    /// Merge this counter into itself: every count doubles.
    pub fn merge_into_self(&mut self) {
        self.finish();
        self.tallies[0].double();
    }

    /// The word table (finishes the counter).
    pub fn tally(&mut self) -> &Tally {
        self.finish();
        &self.tallies[0]
    }

    /// The ranked report (finishes the counter); see [`Tally::report`].
    pub fn report(
        &mut self,
        top: Option<usize>,
        min_length: usize,
        is_stopword: impl Fn(&str) -> bool,
    ) -> Report<'_> {
        self.tally().report(top, min_length, is_stopword)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(c: &mut Counter) -> Vec<(String, u64)> {
        let mut v: Vec<_> = c
            .tally()
            .iter()
            .map(|(w, n)| (w.as_str().to_string(), n))
            .collect();
        v.sort();
        v
    }

    fn count(mode: &str, enc: Option<&str>, chunks: &[&[u8]]) -> Vec<(String, u64)> {
        let mut c = Counter::new(mode, enc).unwrap();
        for chunk in chunks {
            c.feed(chunk).unwrap();
        }
        counts(&mut c)
    }

    fn expect(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        let mut v: Vec<_> = pairs.iter().map(|&(w, n)| (w.to_string(), n)).collect();
        v.sort();
        v
    }

    #[test]
    fn bad_arguments() {
        assert_eq!(
            Counter::new("nope", None).unwrap_err(),
            Error::UnknownMode("nope".into())
        );
        assert_eq!(
            Counter::new("words", Some("ebcdic")).unwrap_err(),
            Error::UnknownEncoding("ebcdic".into())
        );
        assert_eq!(
            Counter::new("seed", Some("utf-8")).unwrap_err(),
            Error::EncodingInSeedMode
        );
        let mut c = Counter::new("words", None).unwrap();
        c.finish();
        assert_eq!(c.feed(b"x").unwrap_err(), Error::Finished);
        let mut s = Counter::new("seed", None).unwrap();
        assert!(matches!(c.merge(&mut s), Err(Error::ModeMismatch { .. })));
    }

    #[test]
    fn boms_split_across_feeds() {
        let utf8 = b"\xEF\xBB\xBFhello world";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Hello ΟΔΟΣ".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("Hello ΟΔΟΣ".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for cut in 0..6 {
            assert_eq!(
                count("words", None, &[&utf8[..cut], &utf8[cut..]]),
                expect(&[("hello", 1), ("world", 1)])
            );
            for data in [&le, &be] {
                assert_eq!(
                    count("words", None, &[&data[..cut], &[], &data[cut..]]),
                    expect(&[("hello", 1), ("οδος", 1)])
                );
            }
        }
        assert_eq!(
            count("words", Some("utf-16"), &[&le[..1], &le[1..]]),
            expect(&[("hello", 1), ("οδος", 1)])
        );
        assert_eq!(
            count("words", Some("utf-16"), &[&be]),
            expect(&[("hello", 1), ("οδος", 1)])
        );
        // Not a BOM: the bytes are text.
        assert_eq!(
            count("words", None, &[b"\xEF\xBB", b"x"]),
            expect(&[("ï", 1), ("x", 1)])
        );
        assert_eq!(count("words", None, &[b"\xEF\xBB"]), expect(&[("ï", 1)]));
        assert_eq!(count("words", None, &[b"\xFF"]), expect(&[("ÿ", 1)]));
        assert_eq!(
            count("words", Some("cp1252"), &[b"\xEF\xBB\xBFx"]),
            expect(&[("ï", 1), ("x", 1)])
        );
        assert_eq!(count("words", None, &[]), expect(&[]));
        // In seed mode the BOM sticks to the first token.
        assert_eq!(
            count("seed", None, &[&utf8[..2], &utf8[2..]]),
            expect(&[("\u{FEFF}hello", 1), ("world", 1)])
        );
    }

    fn parallel_counts(
        mode: &str,
        enc: Option<&str>,
        data: &[u8],
        chunk: usize,
        threads: usize,
    ) -> Vec<(String, u64)> {
        let mut c = Counter::new(mode, enc).unwrap();
        c.set_parallelism(16, threads);
        for piece in data.chunks(chunk) {
            c.feed(piece).unwrap();
        }
        counts(&mut c)
    }

    #[test]
    fn parallel_counts_equal_sequential() {
        let mut text = Vec::new();
        for i in 0..200 {
            text.extend_from_slice(
                format!("Don’t {i} CAFÉ café's ΟΔΟΣ\r\nrock'n'roll ").as_bytes(),
            );
            text.extend_from_slice(
                b"don\x92t \xE2\x80A \xC3\xA9t\xC3\xA9 abc\xE2\x80\x80def\xC2\x85xyzzy ",
            );
        }
        for (mode, enc) in [
            ("words", None),
            ("words", Some("utf-8")),
            ("words", Some("cp1252")),
            ("words", Some("latin-1")),
            ("words", Some("utf-16")),
            ("seed", None),
        ] {
            let whole = parallel_counts(mode, enc, &text, text.len(), 1);
            for threads in [2, 3, 7] {
                for chunk in [text.len(), 1000, 97] {
                    assert_eq!(
                        parallel_counts(mode, enc, &text, chunk, threads),
                        whole,
                        "{mode} {enc:?} {threads} {chunk}"
                    );
                }
            }
        }
    }

    /// Deterministic pseudo-random bytes, biased towards the bytes the rules care about.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        const PICKS: &[u8] =
            b" \t\r\n'.,aZ\x92\x97\xC2\x85\xA0\xE2\x80\x99\xE3\xEF\xBB\xBF\xFF\xFE\xCE\xA3\xED\x00";
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(3) {
                    (x >> 32) as u8
                } else {
                    PICKS[(x >> 40) as usize % PICKS.len()]
                }
            })
            .collect()
    }

    #[test]
    fn random_input_never_panics_and_chunking_never_matters() {
        let modes = [
            ("words", None),
            ("words", Some("utf-8")),
            ("words", Some("cp1252")),
            ("words", Some("latin-1")),
            ("words", Some("utf-16")),
            ("seed", None),
        ];
        for seed in 1..40u64 {
            let data = noise(seed, 3000);
            for (mode, enc) in modes {
                let whole = parallel_counts(mode, enc, &data, data.len(), 1);
                let chunk = 1 + (seed as usize * 37) % 200;
                assert_eq!(parallel_counts(mode, enc, &data, chunk, 1), whole);
                assert_eq!(parallel_counts(mode, enc, &data, data.len(), 3), whole);
            }
        }
    }

    #[test]
    fn merge_and_report() {
        let mut a = Counter::new("words", None).unwrap();
        a.feed(b"the cat and the hat").unwrap();
        let mut b = Counter::new("words", Some("cp1252")).unwrap();
        b.feed(b"The end").unwrap();
        a.merge(&mut b).unwrap();
        assert!(a.is_finished() && b.is_finished());
        let r = a.report(Some(2), 1, |w| w == "and");
        assert_eq!((r.total, r.unique), (6, 4));
        let words: Vec<_> = r.words.iter().map(|(w, n)| (w.as_str(), *n)).collect();
        assert_eq!(words, vec![("the", 3), ("cat", 1)]);
        a.merge_into_self();
        let r = a.report(Some(1), 1, |_| false);
        assert_eq!((r.words[0].0.as_str(), r.words[0].1), ("the", 6));
    }
}
