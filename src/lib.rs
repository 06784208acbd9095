//! Native counting core of wordfreq. This file is the Python binding (the only one that
//! uses pyo3); the counting itself is plain Rust in the other modules:
//!
//! * [`decode`]: encodings, BOM detection, UTF-8 and UTF-16 decoding;
//! * [`words`]: the `words` tokenizer and word normalisation;
//! * [`ngrams`]: sequences of consecutive words (`ngrams` above 1);
//! * [`segment`]: word segmentation of the scripts written without spaces (ICU4X);
//! * [`seed`]: the `seed` tokenizer (the original Go worker's rules);
//! * [`counter`]: the streaming counter (carry between chunks, parallel counting, merge);
//! * [`split`]: safe split points for parallel counting;
//! * [`file_ranges`]: a regular file read in pieces that threads take in turn (`pread`);
//! * [`counts_csv`]: reading a counts CSV back into a word table (merging counts);
//! * [`tally`]: the word table and the ranked report;
//! * [`language`]: language detection (`--stopwords auto`);
//! * [`chars`] over the generated [`tables`]: Unicode 14.0.0 properties, as Python 3.11.

pub mod chars;
pub mod counter;
pub mod counts_csv;
pub mod decode;
pub mod file_ranges;
pub mod language;
pub mod ngrams;
pub mod seed;
pub mod segment;
pub mod split;
pub mod tables;
pub mod tally;
pub mod words;

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::os::fd::BorrowedFd;

use flate2::{Compression, GzBuilder};

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyMemoryError, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use counter::{Error, Mode, MAX_THREADS, MAX_WORD_LENGTH_LIMIT};
use ngrams::MAX_NGRAMS;

/// A core error as the Python exception callers expect: running out of memory is a
/// `MemoryError`, a caught panic a `RuntimeError` (PyO3's `PanicException` derives from
/// `BaseException`, which `except Exception` handlers would miss), the rest `ValueError`.
fn py_error(e: Error) -> PyErr {
    match e {
        Error::OutOfMemory => PyMemoryError::new_err(format!("counting core: {e}")),
        Error::Internal(_) => PyRuntimeError::new_err(e.to_string()),
        Error::Io(_) => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// `max_word_length` as a limit (None: the mode's default), `ValueError` when it is out
/// of range (however large).
fn word_length_limit(mode: &str, arg: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let Some(arg) = arg.filter(|a| !a.is_none()) else {
        let mode =
            Mode::from_name(mode).ok_or_else(|| py_error(Error::UnknownMode(mode.into())))?;
        return Ok(mode.default_max_word_length());
    };
    if !arg.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("max_word_length must be an int"));
    }
    match arg.extract::<i64>() {
        Ok(n) if (1..=MAX_WORD_LENGTH_LIMIT as i64).contains(&n) => Ok(n as usize),
        _ => Err(py_error(Error::MaxWordLength)),
    }
}

/// `threads` as a count (None: 0, one per core), `ValueError` when out of range.
fn thread_count(arg: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let Some(arg) = arg.filter(|a| !a.is_none()) else {
        return Ok(0);
    };
    if !arg.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("threads must be an int or None"));
    }
    match arg.extract::<i64>() {
        Ok(n) if (0..=MAX_THREADS as i64).contains(&n) => Ok(n as usize),
        _ => Err(py_error(Error::Threads)),
    }
}

/// `ngrams` as a count (None: 1, single words), `ValueError` when out of range.
fn ngram_count(arg: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let Some(arg) = arg.filter(|a| !a.is_none()) else {
        return Ok(1);
    };
    if !arg.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("ngrams must be an int or None"));
    }
    match arg.extract::<i64>() {
        Ok(n) if (1..=MAX_NGRAMS as i64).contains(&n) => Ok(n as usize),
        _ => Err(py_error(Error::Ngrams)),
    }
}

/// Bytes of CSV gathered before each `write` to the file object.
const CSV_CHUNK: usize = 64 * 1024;

/// `report`'s `min_length`: below zero is no minimum.
fn report_min_length(min_length: i64) -> usize {
    usize::try_from(min_length.max(0)).unwrap_or(usize::MAX)
}

/// The stop words of an iterable of `str` (anything else in it is ignored).
fn stop_set(stopwords: Option<&Bound<'_, PyAny>>) -> PyResult<HashSet<String>> {
    let mut stop: HashSet<String> = HashSet::new();
    if let Some(words) = stopwords {
        for item in words.try_iter()? {
            if let Ok(s) = item?.cast::<PyString>() {
                stop.insert(s.to_str()?.to_owned());
            }
        }
    }
    Ok(stop)
}

/// Write all of `data` to the binary file `out`, whose `write` may take only part of it
/// (a raw file) and says how much it took.
fn write_all(out: &Bound<'_, PyAny>, data: &[u8]) -> PyResult<()> {
    let mut rest = data;
    while !rest.is_empty() {
        let taken = out.call_method1("write", (PyBytes::new(out.py(), rest),))?;
        let n = if taken.is_none() {
            0
        } else {
            taken.extract::<usize>()?
        };
        if n == 0 {
            return Err(PyOSError::new_err(
                "the file took none of the bytes written to it",
            ));
        }
        rest = &rest[n.min(rest.len())..];
    }
    Ok(())
}

/// A streaming word counter (see `wordfreq_service/_core.pyi`).
#[pyclass(name = "Counter", module = "wordfreq_service._core")]
struct PyCounter {
    inner: counter::Counter,
}

#[pymethods]
impl PyCounter {
    #[new]
    #[pyo3(
        signature = (mode, encoding = None, max_word_length = None, *, at_start = true, threads = None, ngrams = None),
        text_signature = "(mode, encoding=None, max_word_length=None, *, at_start=True, threads=None, ngrams=None)"
    )]
    fn new(
        mode: &str,
        encoding: Option<&str>,
        max_word_length: Option<&Bound<'_, PyAny>>,
        at_start: bool,
        threads: Option<&Bound<'_, PyAny>>,
        ngrams: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let limit = word_length_limit(mode, max_word_length)?;
        let threads = thread_count(threads)?;
        let ngrams = ngram_count(ngrams)?;
        let mut inner = counter::Counter::new_ngrams(mode, encoding, limit, at_start, ngrams)
            .map_err(py_error)?;
        inner.set_threads(threads).map_err(py_error)?;
        Ok(PyCounter { inner })
    }

    /// The number of threads large chunks are counted on.
    #[getter]
    fn threads(&self) -> usize {
        self.inner.threads()
    }

    #[getter]
    fn mode(&self) -> &'static str {
        self.inner.mode().name()
    }

    #[getter]
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }

    #[getter]
    fn max_word_length(&self) -> usize {
        self.inner.max_word_length()
    }

    /// Words per counted sequence (1: single words).
    #[getter]
    fn ngrams(&self) -> usize {
        self.inner.ngrams()
    }

    /// Runs longer than `max_word_length`, skipped (finishes the counter).
    #[getter]
    fn skipped(&mut self, py: Python<'_>) -> PyResult<u64> {
        let inner = &mut self.inner;
        py.detach(|| inner.skipped()).map_err(py_error)
    }

    /// Count a chunk. Releases the GIL; large chunks are split across all cores.
    fn feed(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let inner = &mut self.inner;
        if let Ok(bytes) = data.extract::<PyBackedBytes>() {
            return py.detach(|| inner.feed(&bytes)).map_err(py_error);
        }
        // Any other buffer (memoryview, array...): copy it, then count without the GIL.
        let buffer = PyBuffer::<u8>::get(data)?;
        let bytes = buffer.to_vec(py)?;
        py.detach(|| inner.feed(&bytes)).map_err(py_error)
    }

    /// End of input: count whatever is still pending. Idempotent.
    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        py.detach(|| inner.finish()).map_err(py_error)
    }

    /// Add `other`'s counts into this counter (both are finished first; same mode).
    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        if slf.is(other) {
            let mut me = slf.borrow_mut();
            let inner = &mut me.inner;
            return py.detach(|| inner.merge_into_self()).map_err(py_error);
        }
        let mut me = slf.borrow_mut();
        let mut them = other.borrow_mut();
        let (a, b) = (&mut me.inner, &mut them.inner);
        py.detach(|| a.merge(b)).map_err(py_error)
    }

    /// Count the first `size` bytes of the regular file open at `fd` as this counter's
    /// whole input, and finish (see `_core.pyi`).
    fn feed_file(&mut self, py: Python<'_>, fd: i64, size: i64) -> PyResult<()> {
        let (Ok(fd), Ok(size)) = (i32::try_from(fd), u64::try_from(size)) else {
            return Err(PyValueError::new_err(
                "fd and size must be a file descriptor and a size of 0 or more",
            ));
        };
        if fd < 0 {
            return Err(PyValueError::new_err("fd must be a file descriptor"));
        }
        // A duplicate of the caller's descriptor, closed when done; the caller keeps its own.
        // SAFETY: the descriptor is only duplicated here (an invalid one fails with EBADF).
        let owned = unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?;
        let file = File::from(owned);
        if !file.metadata()?.is_file() {
            return Err(PyValueError::new_err(
                "feed_file reads regular files only (feed a pipe's chunks instead)",
            ));
        }
        let inner = &mut self.inner;
        // Ctrl-C: the counting threads ask now and then, holding the GIL just for that.
        let mut signal: Option<PyErr> = None;
        let result = py.detach(|| {
            inner.feed_file(&file, size, &mut || {
                Python::attach(|py| py.check_signals())
                    .map_err(|e| signal = Some(e))
                    .is_err()
            })
        });
        match signal {
            Some(e) => Err(e),
            None => result.map_err(py_error),
        }
    }

    /// Tune `feed_file` (ranges of at least `min_range` bytes, `read_buffer` bytes per
    /// read), so that tests can use small files on many threads and reads that cut words.
    fn _set_file_ranges_for_tests(&mut self, min_range: u64, read_buffer: usize) {
        self.inner.set_file_ranges(min_range, read_buffer);
    }

    /// Split chunks of at least `min_bytes` across the threads (1 MiB otherwise), so that
    /// tests and the fuzzer reach the parallel path with small inputs.
    fn _set_parallel_min_for_tests(&mut self, min_bytes: usize) {
        let threads = self.inner.threads();
        self.inner.set_parallelism(min_bytes, threads);
    }

    /// Add the counts of a counts CSV, read from `chunks` (which may cut it anywhere),
    /// and `skipped` runs into this counter (finished first). Nothing is added when the
    /// CSV is malformed (`ValueError` naming the line) or reading `chunks` raises.
    #[pyo3(
        signature = (chunks, *, skipped = None),
        text_signature = "($self, chunks, *, skipped=0)"
    )]
    fn merge_csv(
        &mut self,
        py: Python<'_>,
        chunks: &Bound<'_, PyAny>,
        skipped: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let skipped = match skipped {
            None => Some(0),
            Some(n) if n.is_instance_of::<PyInt>() => n.extract::<u64>().ok(),
            Some(_) => None,
        }
        .ok_or_else(|| PyValueError::new_err("skipped must be an int from 0 to 2**64-1"))?;
        let mut reader = counts_csv::CountsCsvReader::new();
        let csv_error = |e| py_error(Error::Csv(e));
        for chunk in chunks.try_iter()? {
            let chunk = chunk?;
            if let Ok(bytes) = chunk.extract::<PyBackedBytes>() {
                py.detach(|| counter::catch_panic(|| reader.feed(&bytes).map_err(Error::Csv)))
                    .map_err(py_error)?;
                continue;
            }
            let bytes = PyBuffer::<u8>::get(&chunk)?.to_vec(py)?;
            py.detach(|| counter::catch_panic(|| reader.feed(&bytes).map_err(Error::Csv)))
                .map_err(py_error)?;
        }
        let tally = py.detach(|| reader.finish()).map_err(csv_error)?;
        if tally.out_of_memory() {
            return Err(py_error(Error::OutOfMemory));
        }
        let inner = &mut self.inner;
        py.detach(|| inner.merge_tally(tally, skipped))
            .map_err(py_error)
    }

    /// `(total, unique, words)` over the words that pass the filters.
    #[pyo3(
        signature = (top, min_length, stopwords = None),
        text_signature = "($self, top, min_length, stopwords=None)"
    )]
    fn report<'py>(
        &mut self,
        py: Python<'py>,
        top: Option<i64>,
        min_length: i64,
        stopwords: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let top = match top {
            Some(t) if t < 0 => return Err(PyValueError::new_err("top must be zero or more")),
            Some(t) => Some(usize::try_from(t).unwrap_or(usize::MAX)),
            None => None,
        };
        let min_length = report_min_length(min_length);
        let stop = stop_set(stopwords)?;
        let inner = &mut self.inner;
        let report = py
            .detach(|| inner.report(top, min_length, |w| stop.contains(w)))
            .map_err(py_error)?;
        let words = PyList::empty(py);
        for (word, n) in &report.words {
            words.append((word.as_str(), *n))?;
        }
        (report.total, report.unique, words).into_pyobject(py)
    }

    /// Every word that passes the filters written to the binary file `out` as CSV rows
    /// `word,count\n` after `header`, in `report`'s order, gzip-compressed at
    /// `gzip_level` when given; about 64 KiB per `write`, no Python object per word, the
    /// formatting and compressing without the GIL. Returns the bytes of CSV (uncompressed).
    #[pyo3(
        signature = (out, min_length, stopwords = None, *, header = None, gzip_level = None),
        text_signature = "($self, out, min_length, stopwords=None, *, header=None, gzip_level=None)"
    )]
    fn write_csv(
        &mut self,
        py: Python<'_>,
        out: &Bound<'_, PyAny>,
        min_length: i64,
        stopwords: Option<&Bound<'_, PyAny>>,
        header: Option<&[u8]>,
        gzip_level: Option<u32>,
    ) -> PyResult<u64> {
        if gzip_level.is_some_and(|level| level > 9) {
            return Err(PyValueError::new_err("gzip_level must be 0 to 9"));
        }
        let min_length = report_min_length(min_length);
        let stop = stop_set(stopwords)?;
        let inner = &mut self.inner;
        let report = py
            .detach(|| inner.report(None, min_length, |w| stop.contains(w)))
            .map_err(py_error)?;
        let mut rows = report.words.iter();
        let mut chunk: Vec<u8> = Vec::with_capacity(CSV_CHUNK + 256);
        chunk.extend_from_slice(header.unwrap_or_default());
        let mut packer = gzip_level.map(|level| {
            GzBuilder::new().write(Vec::with_capacity(CSV_CHUNK * 2), Compression::new(level))
        });
        let mut written: u64 = 0;
        let mut more = true;
        while more {
            let (pending, at_end) = py.detach(|| {
                more = tally::write_csv_rows(&mut rows, &mut chunk, CSV_CHUNK);
                written += chunk.len() as u64;
                let Some(packer) = packer.as_mut() else {
                    return Ok::<_, std::io::Error>((std::mem::take(&mut chunk), false));
                };
                packer.write_all(&chunk)?;
                chunk.clear();
                let packed = packer.get_mut();
                // Compressed output arrives in bursts: pass it on in pieces of a chunk or more.
                if packed.len() >= CSV_CHUNK || !more {
                    Ok((std::mem::take(packed), !more))
                } else {
                    Ok((Vec::new(), false))
                }
            })?;
            write_all(out, &pending)?;
            if at_end {
                if let Some(packer) = packer.take() {
                    let tail = py.detach(|| packer.finish())?;
                    write_all(out, &tail)?;
                }
            }
            chunk.clear();
        }
        Ok(written)
    }

    /// Every word with its count, unfiltered.
    fn counts<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = &mut self.inner;
        let tally = py.detach(|| inner.tally()).map_err(py_error)?;
        let dict = PyDict::new(py);
        for (word, n) in tally.iter() {
            dict.set_item(word.as_str(), n)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        let enc = match self.inner.encoding() {
            Some(e) => format!("'{e}'"),
            None => "None".to_string(),
        };
        format!(
            "Counter(mode='{}', encoding={enc}, max_word_length={}, finished={})",
            self.inner.mode().name(),
            self.inner.max_word_length(),
            if self.inner.is_finished() {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// Panic on purpose, through the same guard as the counting entry points (on a rayon
/// worker when `in_thread_pool`): lets the tests check what a bug in the core looks like
/// from Python.
#[pyfunction]
#[pyo3(signature = (in_thread_pool = false))]
fn _panic_for_tests(py: Python<'_>, in_thread_pool: bool) -> PyResult<()> {
    py.detach(|| {
        counter::catch_panic(|| {
            if in_thread_pool {
                use rayon::prelude::*;
                (0..4u32).into_par_iter().for_each(|i| {
                    if i == 3 {
                        panic!("deliberate panic on a worker thread");
                    }
                });
            }
            panic!("deliberate panic");
        })
    })
    .map_err(py_error)
}

/// The pieces `feed_file` would count for the first `size` bytes of the file open at
/// `fd` in `parts` ranges, reading `read_buffer` bytes at a time: lets the tests hold the
/// core to `counting/ranges.py`'s boundary rule.
#[pyfunction]
fn _file_pieces_for_tests<'py>(
    py: Python<'py>,
    fd: i32,
    size: u64,
    mode: &str,
    parts: usize,
    read_buffer: usize,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let is_safe = Mode::from_name(mode)
        .ok_or_else(|| py_error(Error::UnknownMode(mode.into())))?
        .find_safe_split_byte();
    // SAFETY: the descriptor is only duplicated here (an invalid one fails with EBADF).
    let file = File::from(unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()?);
    let mut buf = vec![0u8; read_buffer.max(1)];
    let mut pieces = Vec::new();
    for range in file_ranges::nominal_ranges(size, parts) {
        let mut piece = Vec::new();
        file_ranges::read_piece(&file, range, size, is_safe, &mut buf, &mut |_, data| {
            piece.extend_from_slice(data);
            Ok(())
        })
        .map_err(py_error)?;
        pieces.push(PyBytes::new(py, &piece));
    }
    Ok(pieces)
}

/// The cores this process may use (CPU affinity and cgroup quota): the default thread
/// count, and the most ranges `feed_file` reads at once.
#[pyfunction]
fn cores() -> usize {
    counter::cores()
}

/// A word normalised as `words` mode normalises the words it counts.
#[pyfunction]
fn normalize_word(word: &str) -> String {
    words::normalize_word(word)
}

/// The language of `text`: `(ISO 639-1 code, confidence 0..1, reliable)`, or
/// `(None, 0.0, False)` when none is found.
#[pyfunction]
fn detect_language(py: Python<'_>, text: &str) -> (Option<&'static str>, f64, bool) {
    match py.detach(|| language::detect(text)) {
        Some(found) => (Some(found.code), found.confidence, found.reliable),
        None => (None, 0.0, false),
    }
}

/// The segments of `text` by the segmenter `words` mode uses for the scripts written
/// without spaces (ICU4X's dictionaries), each with whether it is word-like: the
/// pure-Python reference takes its dictionary step from here.
#[pyfunction(name = "segment")]
fn segment_text(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    segment::segments(text, |s, word_like| out.push((s.to_string(), word_like)));
    out
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    counter::install_panic_hook();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MODES", PyTuple::new(m.py(), counter::Mode::NAMES)?)?;
    m.add("ENCODINGS", PyTuple::new(m.py(), decode::Encoding::NAMES)?)?;
    let defaults = PyDict::new(m.py());
    for name in Mode::NAMES {
        let mode = Mode::from_name(name).expect("a mode's own name");
        defaults.set_item(name, mode.default_max_word_length())?;
    }
    m.add("DEFAULT_MAX_WORD_LENGTH", defaults)?;
    m.add("MAX_WORD_LENGTH_LIMIT", MAX_WORD_LENGTH_LIMIT)?;
    m.add("MAX_THREADS", MAX_THREADS)?;
    m.add("MAX_NGRAMS", MAX_NGRAMS)?;
    m.add("FILE_MIN_RANGE", file_ranges::MIN_RANGE)?;
    let safe = PyDict::new(m.py());
    for name in Mode::NAMES {
        let is_safe = Mode::from_name(name)
            .expect("a mode's own name")
            .is_safe_split_byte();
        let bytes: Vec<u8> = (0..=u8::MAX).filter(|&b| is_safe(b)).collect();
        safe.set_item(name, PyBytes::new(m.py(), &bytes))?;
    }
    m.add("SPLIT_SAFE_BYTES", safe)?;
    m.add_class::<PyCounter>()?;
    m.add_function(wrap_pyfunction!(normalize_word, m)?)?;
    m.add_function(wrap_pyfunction!(segment_text, m)?)?;
    m.add("SEGMENT_RUN_BOUND", segment::RUN_BOUND)?;
    m.add_function(wrap_pyfunction!(cores, m)?)?;
    m.add_function(wrap_pyfunction!(detect_language, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_file_pieces_for_tests, m)?)?;
    Ok(())
}
