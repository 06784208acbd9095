//! The streaming counter: chooses the decoding from the start of the stream, carries
//! unfinished words between chunks, counts large chunks on all cores, merges counters.
//!
//! Memory is bounded by the vocabulary: words over the length limit are skipped without
//! being buffered, UTF-16 is transcoded a bounded piece at a time, parallel pieces are
//! slices of the caller's chunk. Running out of memory for the word table and a panic
//! (a bug) both become errors, after which the counter refuses further use.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use rayon::prelude::*;

use crate::counts_csv::CsvError;
use crate::decode::{detect, ByteDecoding, Decoding, Encoding, Utf16Decoder};
use crate::file_ranges::{
    nominal_ranges, piece_count, read_piece, read_up_to, ReadAt, MIN_RANGE, READ_BUFFER,
};
use crate::ngrams::{self, NgramWords, MAX_NGRAMS};
use crate::seed::{self, SeedWords};
use crate::split::split;
use crate::tally::{Report, Tally};
use crate::words::{self, ByteWords};

/// Chunks at least this long are split across the cores.
pub const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// Longest word counted in `words` mode unless asked otherwise (code points).
pub const DEFAULT_MAX_WORD_LENGTH: usize = 1000;

/// Largest word-length limit accepted: Go's `bufio.MaxScanTokenSize`.
pub const MAX_WORD_LENGTH_LIMIT: usize = 64 * 1024;

/// Most threads a counter may be asked to use.
pub const MAX_THREADS: usize = 256;

/// UTF-16 input is transcoded this many input bytes at a time, so the UTF-8 buffer stays
/// bounded whatever the size of the chunk fed (and still reaches the parallel path).
const UTF16_PIECE: usize = 4 << 20;

/// `feed_file` asks whether to stop (Ctrl-C) after about this many bytes of the first
/// range: often enough to stop within a fraction of a second, rarely enough to cost
/// nothing.
const INTERRUPT_CHECK_BYTES: u64 = 32 << 20;

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

    /// The word-length limit when none is asked for. `seed` mode keeps every token the Go
    /// worker could count: its scanner gave up at `bufio.MaxScanTokenSize` bytes.
    pub fn default_max_word_length(self) -> usize {
        match self {
            Mode::Words => DEFAULT_MAX_WORD_LENGTH,
            Mode::Seed => MAX_WORD_LENGTH_LIMIT,
        }
    }

    /// The test for a byte after which input can be cut (see [`crate::split`]).
    pub fn is_safe_split_byte(self) -> fn(u8) -> bool {
        match self {
            Mode::Words => words::is_safe_split_byte,
            Mode::Seed => seed::is_safe_split_byte,
        }
    }

    /// The search for the first such byte of a buffer.
    pub fn find_safe_split_byte(self) -> fn(&[u8]) -> Option<usize> {
        match self {
            Mode::Words => words::find_safe_split_byte,
            Mode::Seed => seed::find_safe_split_byte,
        }
    }

    /// Every mode, by name, the default first.
    pub const NAMES: [&'static str; 2] = ["words", "seed"];
}

/// What a caller can get wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    UnknownMode(String),
    UnknownEncoding(String),
    EncodingInSeedMode,
    Finished,
    ModeMismatch {
        ours: Mode,
        theirs: Mode,
    },
    MaxWordLength,
    Threads,
    /// `ngrams` out of 1..=[`MAX_NGRAMS`].
    Ngrams,
    /// `ngrams` above 1 in seed mode.
    NgramsInSeedMode,
    /// Merging counters of different `ngrams`.
    NgramsMismatch,
    /// UTF-16 input cannot be counted from a split point (its bytes are not ASCII-safe).
    Utf16MidStream,
    /// A counts CSV to merge is malformed.
    Csv(CsvError),
    /// `feed_file` on a counter that has had input already.
    AlreadyFed,
    /// Reading a file failed.
    Io(String),
    /// `feed_file` was told to stop (its caller's `interrupted` said so); the counts are
    /// incomplete.
    Interrupted,
    /// Memory ran out while the word table grew; the counts are incomplete.
    OutOfMemory,
    /// A bug: a panic in the core, caught. The message says where.
    Internal(String),
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
            Error::MaxWordLength => write!(
                f,
                "max_word_length must be between 1 and {MAX_WORD_LENGTH_LIMIT}"
            ),
            Error::Threads => write!(f, "threads must be between 0 and {MAX_THREADS}"),
            Error::Ngrams => write!(f, "ngrams must be between 1 and {MAX_NGRAMS}"),
            Error::NgramsInSeedMode => write!(
                f,
                "ngrams applies to words mode only (seed mode reads raw bytes as the Go worker did)"
            ),
            Error::NgramsMismatch => {
                write!(f, "cannot merge counters of different ngrams")
            }
            Error::Utf16MidStream => write!(
                f,
                "utf-16 input cannot be counted from the middle of a stream (at_start=False)"
            ),
            Error::Csv(e) => write!(f, "{e}"),
            Error::AlreadyFed => write!(
                f,
                "feed_file counts a counter's whole input: this counter has had input already"
            ),
            Error::Io(what) => write!(f, "{what}"),
            Error::Interrupted => write!(f, "interrupted"),
            Error::OutOfMemory => write!(
                f,
                "out of memory: the word table could not grow (the counts are incomplete)"
            ),
            Error::Internal(what) => write!(f, "internal error in the counting core: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// The tokenizer for the decoding in use.
#[derive(Clone, Debug)]
enum Scanner {
    Bytes(ByteWords),
    Seed(SeedWords),
    Ngrams(NgramWords),
}

impl Scanner {
    fn feed(&mut self, buf: &[u8], tally: &mut Tally) {
        match self {
            Scanner::Bytes(s) => s.feed(buf, tally),
            Scanner::Seed(s) => s.feed(buf, tally),
            Scanner::Ngrams(s) => s.feed(buf, tally),
        }
    }

    fn finish(&mut self, tally: &mut Tally) {
        match self {
            Scanner::Bytes(s) => s.finish(tally),
            Scanner::Seed(s) => s.finish(tally),
            Scanner::Ngrams(s) => s.finish(tally),
        }
    }

    /// The test for a byte after which the input can be split.
    fn safe_byte(&self) -> fn(u8) -> bool {
        match self {
            Scanner::Bytes(_) | Scanner::Ngrams(_) => words::is_safe_split_byte,
            Scanner::Seed(_) => seed::is_safe_split_byte,
        }
    }

    /// A scanner of the same decoding in the state right after a safe byte.
    fn fresh(&self) -> Scanner {
        match self {
            Scanner::Bytes(s) => Scanner::Bytes(s.fresh()),
            Scanner::Seed(s) => Scanner::Seed(s.fresh()),
            Scanner::Ngrams(s) => Scanner::Ngrams(s.fresh()),
        }
    }

    fn is_clean(&self) -> bool {
        match self {
            Scanner::Bytes(s) => s.is_clean(),
            Scanner::Seed(s) => s.is_clean(),
            Scanner::Ngrams(s) => s.is_clean(),
        }
    }
}

/// The next piece of a file for a thread to count (see [`Counter::feed_file`]), unless
/// they are all taken or a thread has failed.
fn claim<'r>(
    next: &AtomicUsize,
    halt: &AtomicBool,
    ranges: &'r [(u64, u64)],
) -> Option<&'r (u64, u64)> {
    if halt.load(Ordering::Relaxed) {
        return None;
    }
    ranges.get(next.fetch_add(1, Ordering::Relaxed))
}

/// The cores this process may use (its CPU affinity and quota), as the rayon pool sizes
/// itself; asked once (it reads the cgroup files). Asking never starts the pool.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Where the last panic happened, recorded by the hook of [`install_panic_hook`] (a
/// panic's payload carries only its message).
static PANIC_LOCATION: Mutex<Option<String>> = Mutex::new(None);

/// Replace the default panic hook, which prints to standard error, with one that only
/// records where the panic happened: the panic comes back to the caller as an error
/// naming the place, and the command line keeps its one-line errors. With
/// `RUST_BACKTRACE` set the default hook runs as well. The hook is this library's own
/// (each Rust library linked into Python has its own standard library).
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        if let Some(loc) = info.location() {
            if let Ok(mut last) = PANIC_LOCATION.lock() {
                *last = Some(format!("{}:{}", loc.file(), loc.line()));
            }
        }
        if verbose {
            default(info);
        }
    }));
}

/// Run `f`, turning a panic (from this thread or a rayon worker) into `Error::Internal`.
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let mut what = panic_message(&*payload);
        let location = PANIC_LOCATION.lock().ok().and_then(|mut l| l.take());
        if let Some(location) = location {
            what = format!("{what} (at {location})");
        }
        Err(Error::Internal(what))
    })
}

/// A streaming word counter.
#[derive(Debug)]
pub struct Counter {
    mode: Mode,
    max_word_length: usize,
    /// Words per counted sequence (1: single words). Above 1 the input is counted on one
    /// thread: a sequence may span any split point.
    ngrams: usize,
    /// Set by an out-of-memory or internal error: the counter's state cannot be trusted,
    /// and every later call returns this error.
    broken: Option<Error>,
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
    /// Some input has been fed (`feed_file` wants a counter with none).
    fed: bool,
    parallel_min: usize,
    threads: usize,
    /// `feed_file`: the least bytes per range, each thread's read buffer, the most ranges
    /// (the cores: more threads than cores only cost a buffer and a table each).
    file_min_range: u64,
    read_buffer: usize,
    file_max_ranges: usize,
}

impl Counter {
    /// A counter for `mode` (`"words"` or `"seed"`) and `encoding` (`None` to detect, or
    /// `"utf-8"`, `"cp1252"`, `"latin-1"`, `"utf-16"`; words mode only) that counts words
    /// of at most `max_word_length` (1..=[`MAX_WORD_LENGTH_LIMIT`]; code points in words
    /// mode, raw bytes in seed mode) and skips longer ones.
    pub fn new(
        mode: &str,
        encoding: Option<&str>,
        max_word_length: usize,
    ) -> Result<Counter, Error> {
        Counter::new_at(mode, encoding, max_word_length, true)
    }

    /// A counter as [`Counter::new`]; unless `at_start`, its input begins just after a
    /// safe split byte in the middle of a stream: there is no BOM to look for, and the
    /// decoding is the one the start of the stream chose when it had none (UTF-16, which
    /// has no such points, is an error).
    pub fn new_at(
        mode: &str,
        encoding: Option<&str>,
        max_word_length: usize,
        at_start: bool,
    ) -> Result<Counter, Error> {
        Counter::new_ngrams(mode, encoding, max_word_length, at_start, 1)
    }

    /// A counter as [`Counter::new_at`] that counts sequences of `ngrams` consecutive
    /// words (1..=[`MAX_NGRAMS`]; above 1 in words mode only), see [`crate::ngrams`].
    pub fn new_ngrams(
        mode: &str,
        encoding: Option<&str>,
        max_word_length: usize,
        at_start: bool,
        ngrams: usize,
    ) -> Result<Counter, Error> {
        let mode = Mode::from_name(mode).ok_or_else(|| Error::UnknownMode(mode.to_string()))?;
        let enc = Encoding::from_name(encoding)
            .ok_or_else(|| Error::UnknownEncoding(encoding.unwrap_or_default().to_string()))?;
        if !(1..=MAX_WORD_LENGTH_LIMIT).contains(&max_word_length) {
            return Err(Error::MaxWordLength);
        }
        if !(1..=MAX_NGRAMS).contains(&ngrams) {
            return Err(Error::Ngrams);
        }
        if mode == Mode::Seed && ngrams > 1 {
            return Err(Error::NgramsInSeedMode);
        }
        let scanner = match mode {
            Mode::Seed if encoding.is_some() => return Err(Error::EncodingInSeedMode),
            Mode::Seed => Some(Scanner::Seed(SeedWords::new(max_word_length))),
            Mode::Words => None,
        };
        let mut counter = Counter {
            mode,
            max_word_length,
            ngrams,
            broken: None,
            encoding: enc,
            head: Vec::new(),
            scanner,
            utf16: None,
            utf8: Vec::new(),
            tallies: vec![Tally::new()],
            finished: false,
            fed: false,
            parallel_min: PARALLEL_MIN_BYTES,
            threads: 0,
            file_min_range: MIN_RANGE,
            read_buffer: READ_BUFFER,
            file_max_ranges: cores(),
        };
        if mode == Mode::Words {
            if !at_start {
                let dec = match enc {
                    Encoding::Auto => ByteDecoding::Utf8Fallback,
                    Encoding::Utf8 => ByteDecoding::Utf8Replace,
                    Encoding::Cp1252 => ByteDecoding::Cp1252,
                    Encoding::Latin1 => ByteDecoding::Latin1,
                    Encoding::Utf16 => return Err(Error::Utf16MidStream),
                };
                counter.start(Decoding::Bytes(dec), 0)?;
            } else if let Some((dec, bom)) = detect(enc, &[], false) {
                counter.start(dec, bom)?;
            }
        }
        Ok(counter)
    }

    /// Run `f` on this counter unless it is broken; a panic or running out of memory
    /// breaks it.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Counter) -> Result<T, Error>) -> Result<T, Error> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let result = catch_panic(|| f(self));
        if let Err(e @ (Error::OutOfMemory | Error::Internal(_) | Error::Interrupted)) = &result {
            self.broken = Some(e.clone());
        }
        result
    }

    /// The word table of every piece has kept all its counts.
    fn check_memory(&self) -> Result<(), Error> {
        if self.tallies.iter().any(Tally::out_of_memory) {
            Err(Error::OutOfMemory)
        } else {
            Ok(())
        }
    }

    pub fn max_word_length(&self) -> usize {
        self.max_word_length
    }

    /// Words per counted sequence.
    pub fn ngrams(&self) -> usize {
        self.ngrams
    }

    /// Tune parallel counting: chunks of at least `min_bytes` are split in `threads`
    /// pieces (0: one per thread of the rayon pool). For tests and benchmarks.
    pub fn set_parallelism(&mut self, min_bytes: usize, threads: usize) {
        self.parallel_min = min_bytes;
        self.threads = threads;
    }

    /// Tune `feed_file`: ranges of at least `min_range` bytes, read `read_buffer` bytes at
    /// a time, as many ranges as `threads` asks even beyond the cores. For tests (small
    /// files on many threads, reads that cut words).
    pub fn set_file_ranges(&mut self, min_range: u64, read_buffer: usize) {
        self.file_min_range = min_range.max(1);
        self.read_buffer = read_buffer.max(1);
        self.file_max_ranges = MAX_THREADS;
    }

    /// Count large chunks on `threads` threads (0: one per core; 1: on the caller's).
    pub fn set_threads(&mut self, threads: usize) -> Result<(), Error> {
        if threads > MAX_THREADS {
            return Err(Error::Threads);
        }
        self.threads = threads;
        Ok(())
    }

    /// The number of threads large chunks are counted on.
    pub fn threads(&self) -> usize {
        match self.threads {
            0 => cores(),
            n => n,
        }
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
    pub fn feed(&mut self, data: &[u8]) -> Result<(), Error> {
        self.guarded(|c| c.feed_unguarded(data))
    }

    fn feed_unguarded(&mut self, mut data: &[u8]) -> Result<(), Error> {
        if self.finished {
            return Err(Error::Finished);
        }
        self.fed = true;
        while self.scanner.is_none() {
            let Some((&b, rest)) = data.split_first() else {
                return Ok(());
            };
            self.head.push(b);
            data = rest;
            if let Some((dec, bom)) = detect(self.encoding, &self.head, false) {
                self.start(dec, bom)?;
            }
        }
        self.run(data)
    }

    /// Count `file`, `size` bytes long when measured, as this counter's whole input (it
    /// must have had none) and finish: one thread per core at most, each with its own
    /// counter and table, merged at the end, taking in turn the nominal pieces the file
    /// is cut into (see [`crate::file_ranges`]); UTF-16 input is read by one sequential
    /// reader. The last piece reads on to the file's end (a file that has grown is
    /// counted whole). The calling thread asks `interrupted` every
    /// [`INTERRUPT_CHECK_BYTES`] of its own reading and every few milliseconds while it
    /// waits for the others; when it says yes, every thread stops at its next read and
    /// this is [`Error::Interrupted`].
    pub fn feed_file(
        &mut self,
        file: &impl ReadAt,
        size: u64,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<(), Error> {
        self.guarded(|c| c.feed_file_unguarded(file, size, interrupted))
    }

    fn feed_file_unguarded(
        &mut self,
        file: &impl ReadAt,
        size: u64,
        interrupted: &mut dyn FnMut() -> bool,
    ) -> Result<(), Error> {
        if self.fed || self.finished {
            return Err(Error::AlreadyFed);
        }
        self.fed = true;
        // The head as it is now, whatever `size` says: a file may have grown.
        let mut head = [0u8; 4];
        let mut head_len = 0;
        while head_len < head.len() {
            let n = read_up_to(file, &mut head[head_len..], head_len as u64)?;
            if n == 0 {
                break;
            }
            head_len += n;
        }
        let utf16 = self.scanner.is_none()
            && matches!(
                detect(self.encoding, &head[..head_len], head_len < head.len()),
                Some((Decoding::Utf16 { .. }, _))
            );
        // UTF-16 has no split points; an n-gram may span any.
        let threads = if utf16 || self.ngrams > 1 {
            1
        } else {
            (self.threads().min(self.file_max_ranges) as u64)
                .min(size / self.file_min_range)
                .max(1) as usize
        };
        let read_buffer = self.read_buffer;
        let is_safe = self.mode.find_safe_split_byte();
        let stop = AtomicBool::new(false);
        // This thread's reading: asks `interrupted` now and then.
        let mut since_check = 0u64;
        let mut check = |n: usize| -> Result<(), Error> {
            since_check += n as u64;
            if since_check >= INTERRUPT_CHECK_BYTES {
                since_check = 0;
                if interrupted() {
                    stop.store(true, Ordering::Relaxed);
                    return Err(Error::Interrupted);
                }
            }
            Ok(())
        };
        if threads == 1 {
            // One reader; a large UTF-16 chunk is still counted on the counter's threads.
            // A small file gets a buffer of its size (a corpus may hold thousands).
            let fits = usize::try_from(size).unwrap_or(usize::MAX).max(1);
            let mut buf = vec![0u8; read_buffer.min(fits)];
            read_piece(file, (0, size), size, is_safe, &mut buf, &mut |_, data| {
                check(data.len())?;
                self.feed_unguarded(data)
            })?;
            return self.finish_unguarded();
        }
        // The file in pieces that the threads take in turn (each piece's boundaries by
        // the rule, so which thread counts it does not matter); the first piece, the only
        // one that looks for a BOM, is this counter's.
        let ranges = nominal_ranges(size, piece_count(size, threads, self.file_min_range));
        let ranges = &ranges[..];
        let next = AtomicUsize::new(1);
        let next = &next;
        // A thread failed (an I/O error, lack of memory, a bug): no more pieces.
        let halt = AtomicBool::new(false);
        let halt = &halt;
        let mut others = Vec::with_capacity(threads - 1);
        for _ in 1..threads {
            let mut c = Counter::new_at(
                self.mode.name(),
                self.encoding.name(),
                self.max_word_length,
                false,
            )?;
            c.threads = 1;
            c.read_buffer = read_buffer;
            others.push(c);
        }
        let saved = std::mem::replace(&mut self.threads, 1);
        let stop = &stop;
        let results: Vec<Result<(), Error>> = std::thread::scope(|scope| {
            let (done, finished) = mpsc::channel::<()>();
            let handles: Vec<_> = others
                .iter_mut()
                .map(|c| {
                    let done = done.clone();
                    scope.spawn(move || {
                        let result = catch_panic(|| {
                            let mut buf = vec![0u8; read_buffer];
                            // Pieces come in increasing order and each but the last ends
                            // just after a safe byte, so one scanner counts them one after
                            // the other as if they were one stream.
                            while let Some(&range) = claim(next, halt, ranges) {
                                read_piece(
                                    file,
                                    range,
                                    size,
                                    is_safe,
                                    &mut buf,
                                    &mut |_, data| {
                                        if stop.load(Ordering::Relaxed) {
                                            return Err(Error::Interrupted);
                                        }
                                        c.feed_unguarded(data)
                                    },
                                )?;
                            }
                            Ok(())
                        });
                        if result.is_err() {
                            halt.store(true, Ordering::Relaxed);
                        }
                        // The receiver outlives every thread of the scope.
                        let _ = done.send(());
                        result
                    })
                })
                .collect();
            drop(done);
            let mut mine = {
                let mut buf = vec![0u8; read_buffer];
                let mut sink = |_: u64, data: &[u8]| {
                    check(data.len())?;
                    self.feed_unguarded(data)
                };
                let mut result = read_piece(file, ranges[0], size, is_safe, &mut buf, &mut sink);
                while result.is_ok() {
                    let Some(&range) = claim(next, halt, ranges) else {
                        break;
                    };
                    result = read_piece(file, range, size, is_safe, &mut buf, &mut sink);
                }
                result
            };
            if mine.is_err() {
                halt.store(true, Ordering::Relaxed);
            }
            // The others finish their last pieces: keep answering Ctrl-C while they do.
            let mut running = handles.len();
            while running > 0 && !stop.load(Ordering::Relaxed) {
                match finished.recv_timeout(std::time::Duration::from_millis(10)) {
                    Ok(()) => running -= 1,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Err(e) = check(INTERRUPT_CHECK_BYTES as usize) {
                            mine = mine.and(Err(e));
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            let mut results = vec![mine];
            for handle in handles {
                results.push(
                    handle
                        .join()
                        .unwrap_or_else(|payload| Err(Error::Internal(panic_message(&*payload)))),
                );
            }
            results
        });
        self.threads = saved;
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        // An internal error or lack of memory matters more than an I/O error.
        let mut failure = None;
        for result in results {
            match result {
                Err(e @ (Error::Internal(_) | Error::OutOfMemory)) => return Err(e),
                Err(e) => failure = failure.or(Some(e)),
                Ok(()) => {}
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        self.finish_unguarded()?;
        for mut other in others {
            other.finish_unguarded()?;
            let tally = std::mem::take(&mut other.tallies[0]);
            self.tallies[0].absorb(tally);
        }
        self.check_memory()
    }

    /// The decoding is known: make its scanner and count the sniffed bytes after the BOM.
    fn start(&mut self, decoding: Decoding, bom: usize) -> Result<(), Error> {
        let dec = match decoding {
            Decoding::Bytes(dec) => dec,
            Decoding::Utf16 { big_endian } => {
                self.utf16 = Some(Utf16Decoder::new(big_endian));
                ByteDecoding::Utf8Replace
            }
        };
        self.scanner = Some(if self.ngrams > 1 {
            Scanner::Ngrams(NgramWords::new(dec, self.max_word_length, self.ngrams))
        } else {
            Scanner::Bytes(ByteWords::new(dec, self.max_word_length))
        });
        let head = std::mem::take(&mut self.head);
        self.run(head.get(bom..).unwrap_or_default())
    }

    fn run(&mut self, data: &[u8]) -> Result<(), Error> {
        if self.utf16.is_none() {
            self.count(data);
            return self.check_memory();
        }
        let mut utf8 = std::mem::take(&mut self.utf8);
        for piece in data.chunks(UTF16_PIECE) {
            utf8.clear();
            if let Some(utf16) = self.utf16.as_mut() {
                utf16.decode_to_utf8(piece, &mut utf8);
            }
            self.count(&utf8);
            self.check_memory()?;
        }
        self.utf8 = utf8;
        Ok(())
    }

    fn count(&mut self, data: &[u8]) {
        let threads = self.threads();
        let Some(scanner) = self.scanner.as_mut() else {
            return;
        };
        if threads > 1 && self.ngrams == 1 && data.len() >= self.parallel_min {
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
    pub fn finish(&mut self) -> Result<(), Error> {
        self.guarded(Counter::finish_unguarded)
    }

    fn finish_unguarded(&mut self) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        if self.scanner.is_none() {
            let utf8 = (Decoding::Bytes(ByteDecoding::Utf8Fallback), 0);
            let (dec, bom) = detect(self.encoding, &self.head, true).unwrap_or(utf8);
            self.start(dec, bom)?;
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
            if !t.is_empty() || t.skipped > 0 || t.out_of_memory() {
                self.tallies[0].absorb(t);
            }
        }
        self.check_memory()?;
        self.finished = true;
        Ok(())
    }

    /// Add `other`'s counts into this counter (both are finished first; same mode).
    pub fn merge(&mut self, other: &mut Counter) -> Result<(), Error> {
        if self.mode != other.mode {
            return Err(Error::ModeMismatch {
                ours: self.mode,
                theirs: other.mode,
            });
        }
        if self.ngrams != other.ngrams {
            return Err(Error::NgramsMismatch);
        }
        other.finish()?;
        self.guarded(|c| {
            c.finish_unguarded()?;
            c.tallies[0].merge_from(&other.tallies[0]);
            c.check_memory()
        })
    }

    /// Add the counts of a table (read from a counts CSV) and `skipped` runs into this
    /// counter (finished first).
    pub fn merge_tally(&mut self, mut tally: Tally, skipped: u64) -> Result<(), Error> {
        self.guarded(|c| {
            c.finish_unguarded()?;
            tally.skipped = tally.skipped.saturating_add(skipped);
            c.tallies[0].absorb(tally);
            c.check_memory()
        })
    }

    /// Merge this counter into itself: every count doubles.
    pub fn merge_into_self(&mut self) -> Result<(), Error> {
        self.guarded(|c| {
            c.finish_unguarded()?;
            c.tallies[0].double();
            Ok(())
        })
    }

    /// Runs skipped for being longer than the limit (finishes the counter).
    pub fn skipped(&mut self) -> Result<u64, Error> {
        Ok(self.tally()?.skipped)
    }

    /// The word table (finishes the counter).
    pub fn tally(&mut self) -> Result<&Tally, Error> {
        self.finish()?;
        Ok(&self.tallies[0])
    }

    /// The ranked report (finishes the counter); see [`Tally::report`].
    pub fn report(
        &mut self,
        top: Option<usize>,
        min_length: usize,
        is_stopword: impl Fn(&str) -> bool,
    ) -> Result<Report<'_>, Error> {
        let ngrams = self.ngrams;
        let tally = self.tally()?;
        // The report only reads the table: a panic there leaves the counter usable.
        catch_panic(|| {
            if ngrams > 1 {
                tally.report(top, 0, |key| {
                    !ngrams::reported(key, min_length, &is_stopword)
                })
            } else {
                tally.report(top, min_length, is_stopword)
            }
            .map_err(|_| Error::OutOfMemory)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(c: &mut Counter) -> Vec<(String, u64)> {
        let mut v: Vec<_> = c
            .tally()
            .unwrap()
            .iter()
            .map(|(w, n)| (w.as_str().to_string(), n))
            .collect();
        v.sort();
        v
    }

    fn count(mode: &str, enc: Option<&str>, chunks: &[&[u8]]) -> Vec<(String, u64)> {
        let mut c = Counter::new(mode, enc, DEFAULT_MAX_WORD_LENGTH).unwrap();
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
            Counter::new("nope", None, DEFAULT_MAX_WORD_LENGTH).unwrap_err(),
            Error::UnknownMode("nope".into())
        );
        assert_eq!(
            Counter::new("words", Some("ebcdic"), DEFAULT_MAX_WORD_LENGTH).unwrap_err(),
            Error::UnknownEncoding("ebcdic".into())
        );
        assert_eq!(
            Counter::new("seed", Some("utf-8"), DEFAULT_MAX_WORD_LENGTH).unwrap_err(),
            Error::EncodingInSeedMode
        );
        let mut c = Counter::new("words", None, DEFAULT_MAX_WORD_LENGTH).unwrap();
        c.finish().unwrap();
        assert_eq!(c.feed(b"x").unwrap_err(), Error::Finished);
        let mut s = Counter::new("seed", None, DEFAULT_MAX_WORD_LENGTH).unwrap();
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
        let mut c = Counter::new(mode, enc, DEFAULT_MAX_WORD_LENGTH).unwrap();
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

    fn limited_counts(
        mode: &str,
        enc: Option<&str>,
        max: usize,
        data: &[u8],
        chunk: usize,
        threads: usize,
    ) -> (Vec<(String, u64)>, u64) {
        let mut c = Counter::new(mode, enc, max).unwrap();
        c.set_parallelism(16, threads);
        for piece in data.chunks(chunk) {
            c.feed(piece).unwrap();
        }
        let skipped = c.skipped().unwrap();
        (counts(&mut c), skipped)
    }

    #[test]
    fn the_word_length_limit_is_checked() {
        for bad in [0, MAX_WORD_LENGTH_LIMIT + 1, usize::MAX] {
            for mode in Mode::NAMES {
                assert_eq!(
                    Counter::new(mode, None, bad).unwrap_err(),
                    Error::MaxWordLength
                );
            }
        }
        let mut c = Counter::new("seed", None, MAX_WORD_LENGTH_LIMIT).unwrap();
        let token = vec![b'x'; MAX_WORD_LENGTH_LIMIT];
        c.feed(&token).unwrap();
        c.feed(b" ").unwrap();
        c.feed(&token).unwrap();
        c.feed(b"x").unwrap();
        assert_eq!(c.skipped().unwrap(), 1);
        assert_eq!(c.tally().unwrap().len(), 1);
    }

    #[test]
    fn skipped_runs_do_not_depend_on_chunks_threads_or_encoding() {
        let mut text = String::new();
        for i in 0..300 {
            let long = "abcdefghij".repeat(i % 4);
            text.push_str(&format!("Don’t {long}x{i} CAFÉ’s {long}ΟΔΟΣ rock'n'roll, "));
        }
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let inputs: [(&str, Option<&str>, &[u8]); 4] = [
            ("words", None, text.as_bytes()),
            ("words", Some("cp1252"), text.as_bytes()),
            ("words", None, &utf16),
            ("seed", None, text.as_bytes()),
        ];
        for (mode, enc, data) in inputs {
            for max in [1, 5, 10, 11, 25] {
                let whole = limited_counts(mode, enc, max, data, data.len(), 1);
                assert!(whole.1 > 0, "{mode} {enc:?} {max}");
                for (chunk, threads) in [(data.len(), 2), (data.len(), 3), (777, 3), (13, 1)] {
                    assert_eq!(
                        limited_counts(mode, enc, max, data, chunk, threads),
                        whole,
                        "{mode} {enc:?} max {max} chunk {chunk} threads {threads}"
                    );
                }
            }
        }
        // The same text in UTF-8 and UTF-16: the limit counts code points in both.
        for max in [1, 5, 10, 11, 25] {
            assert_eq!(
                limited_counts("words", None, max, &utf16, utf16.len(), 1),
                limited_counts("words", None, max, text.as_bytes(), text.len(), 1)
            );
        }
    }

    #[test]
    fn a_huge_utf16_chunk_is_transcoded_a_piece_at_a_time() {
        let mut c = Counter::new("words", Some("utf-16"), 10).unwrap();
        let data: Vec<u8> = "a"
            .repeat(3 * UTF16_PIECE)
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        c.feed(&data).unwrap();
        assert!(
            c.utf8.capacity() <= 2 * UTF16_PIECE,
            "{}",
            c.utf8.capacity()
        );
        assert_eq!(c.skipped().unwrap(), 1);
    }

    #[test]
    fn a_panic_becomes_an_error_and_breaks_the_counter() {
        install_panic_hook();
        let mut c = Counter::new("words", None, DEFAULT_MAX_WORD_LENGTH).unwrap();
        c.feed(b"fine ").unwrap();
        let err = c
            .guarded(|_| -> Result<(), Error> { panic!("boom {}", 42) })
            .unwrap_err();
        let Error::Internal(what) = &err else {
            panic!("{err:?}");
        };
        assert!(what.starts_with("boom 42 (at src/counter.rs:"), "{what}");
        assert!(err
            .to_string()
            .starts_with("internal error in the counting core: boom 42"));
        assert_eq!(c.feed(b"more").unwrap_err(), err);
        assert_eq!(c.finish().unwrap_err(), err);
        assert!(c.report(None, 0, |_| false).is_err());
        // A panic on a rayon worker thread is caught too.
        let err = catch_panic(|| -> Result<(), Error> {
            (0..8u32)
                .into_par_iter()
                .for_each(|i| assert!(i < 7, "worker {i}"));
            Ok(())
        })
        .unwrap_err();
        assert!(
            matches!(&err, Error::Internal(w) if w.starts_with("worker 7")),
            "{err:?}"
        );
    }

    #[test]
    fn mid_stream_counters_look_for_no_bom() {
        let mid = |mode: &str, enc: Option<&str>, data: &[u8]| {
            let mut c = Counter::new_at(mode, enc, DEFAULT_MAX_WORD_LENGTH, false).unwrap();
            c.feed(data).unwrap();
            counts(&mut c)
        };
        // U+FEFF in the middle of a stream separates words; FF FE is Windows-1252 there.
        assert_eq!(
            mid("words", None, b"\xFF\xFEc\xEF\xBB\xBFab"),
            expect(&[("ab", 1), ("ÿþc", 1)])
        );
        assert_eq!(
            mid("words", Some("utf-8"), b"\xEF\xBB\xBFab"),
            expect(&[("ab", 1)])
        );
        assert_eq!(
            mid("words", Some("cp1252"), b"a\x92t"),
            expect(&[("a't", 1)])
        );
        assert_eq!(
            mid("seed", None, b"\xEF\xBB\xBFabcdef"),
            expect(&[("\u{FEFF}abcdef", 1)])
        );
        assert_eq!(
            Counter::new_at("words", Some("utf-16"), 10, false).unwrap_err(),
            Error::Utf16MidStream
        );
    }

    fn file_with(data: &[u8]) -> std::fs::File {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!(
            "wordfreq-counter-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(data).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    #[test]
    fn a_file_counted_in_ranges_equals_the_stream() {
        let modes = [
            ("words", None),
            ("words", Some("utf-8")),
            ("words", Some("cp1252")),
            ("words", Some("utf-16")),
            ("seed", None),
        ];
        for seed in 1..25u64 {
            let mut data = noise(seed, 2000);
            if seed % 5 == 0 {
                data.splice(0..0, *b"\xEF\xBB\xBF");
            }
            if seed % 6 == 0 {
                // A UTF-16 BOM after every safe byte: only the file's start is its start.
                data = b"w \xFF\xFEx\xFE\xFF ".repeat(200);
            }
            let file = file_with(&data);
            for (mode, enc) in modes {
                let whole = limited_counts(mode, enc, 7, &data, data.len(), 1);
                for threads in [1, 2, 3, 8] {
                    let mut c = Counter::new(mode, enc, 7).unwrap();
                    c.set_threads(threads).unwrap();
                    c.set_file_ranges(50, 1 + seed as usize * 13);
                    c.feed_file(&file, data.len() as u64, &mut || false)
                        .unwrap();
                    let skipped = c.skipped().unwrap();
                    assert_eq!(
                        (counts(&mut c), skipped),
                        whole,
                        "{seed} {mode} {enc:?} {threads}"
                    );
                }
            }
        }
        let mut c = Counter::new("words", None, 7).unwrap();
        c.feed(b"").unwrap();
        assert_eq!(
            c.feed_file(&file_with(b"x"), 1, &mut || false).unwrap_err(),
            Error::AlreadyFed
        );
    }

    /// A file whose reads by the thread that made it (the first piece's) are held up
    /// until the other threads have read most of it, or a few seconds have passed.
    struct HeldUp {
        file: std::fs::File,
        size: u64,
        held: std::thread::ThreadId,
        others_read: std::sync::atomic::AtomicU64,
        waited_out: AtomicBool,
    }

    impl ReadAt for HeldUp {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
            // Not the 4-byte look at the head for a BOM, which comes before the threads.
            if std::thread::current().id() == self.held && offset == 0 && buf.len() > 4 {
                let start = std::time::Instant::now();
                while self.others_read.load(Ordering::Relaxed) < self.size * 9 / 10 {
                    if start.elapsed() > std::time::Duration::from_secs(5) {
                        self.waited_out.store(true, Ordering::Relaxed);
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            let n = std::os::unix::fs::FileExt::read_at(&self.file, buf, offset)?;
            if std::thread::current().id() != self.held {
                self.others_read.fetch_add(n as u64, Ordering::Relaxed);
            }
            Ok(n)
        }
    }

    #[test]
    fn a_thread_held_up_leaves_its_share_to_the_others() {
        let data = b"one two three, four five six seven. ".repeat(1000);
        let file = HeldUp {
            file: file_with(&data),
            size: data.len() as u64,
            held: std::thread::current().id(),
            others_read: Default::default(),
            waited_out: AtomicBool::new(false),
        };
        let mut c = Counter::new("words", None, 100).unwrap();
        c.set_threads(2).unwrap();
        c.set_file_ranges(100, 64);
        c.feed_file(&file, data.len() as u64, &mut || false)
            .unwrap();
        assert!(
            !file.waited_out.load(Ordering::Relaxed),
            "the other thread read only {} of {} bytes while the first was held up",
            file.others_read.load(Ordering::Relaxed),
            data.len()
        );
        assert_eq!(
            counts(&mut c),
            limited_counts("words", None, 100, &data, 4096, 1).0
        );
    }

    #[test]
    fn the_safe_byte_search_agrees_with_the_byte_test() {
        for mode in [Mode::Words, Mode::Seed] {
            let (test, find) = (mode.is_safe_split_byte(), mode.find_safe_split_byte());
            let first = |buf: &[u8]| buf.iter().position(|&c| test(c));
            for b in 0..=255u8 {
                for at in 0..20 {
                    let mut buf = vec![b'a'; 20]; // never safe
                    buf[at] = b;
                    assert_eq!(find(&buf), first(&buf), "{mode:?} {b} at {at}");
                    buf[at] = b | 0x80; // and every high byte after it
                    assert_eq!(find(&buf), first(&buf), "{mode:?} {b} at {at}");
                }
            }
            for seed in 1..50 {
                let data = noise(seed, 300);
                for start in 0..10 {
                    assert_eq!(find(&data[start..]), first(&data[start..]));
                }
            }
        }
    }

    #[test]
    fn merge_and_report() {
        let mut a = Counter::new("words", None, DEFAULT_MAX_WORD_LENGTH).unwrap();
        a.feed(b"the cat and the hat").unwrap();
        let mut b = Counter::new("words", Some("cp1252"), DEFAULT_MAX_WORD_LENGTH).unwrap();
        b.feed(b"The end").unwrap();
        a.merge(&mut b).unwrap();
        assert!(a.is_finished() && b.is_finished());
        let r = a.report(Some(2), 1, |w| w == "and").unwrap();
        assert_eq!((r.total, r.unique), (6, 4));
        let words: Vec<_> = r.words.iter().map(|(w, n)| (w.as_str(), *n)).collect();
        assert_eq!(words, vec![("the", 3), ("cat", 1)]);
        a.merge_into_self().unwrap();
        let r = a.report(Some(1), 1, |_| false).unwrap();
        assert_eq!((r.words[0].0.as_str(), r.words[0].1), ("the", 6));
    }
}
