//! Native counting core of wordfreq. This file is the Python binding (the only one that
//! uses pyo3); the counting itself is plain Rust in the other modules:
//!
//! * [`decode`]: encodings, BOM detection, UTF-8 and UTF-16 decoding;
//! * [`words`]: the `words` tokenizer and word normalisation;
//! * [`seed`]: the `seed` tokenizer (the original Go worker's rules);
//! * [`counter`]: the streaming counter (carry between chunks, parallel counting, merge);
//! * [`split`]: safe split points for parallel counting;
//! * [`tally`]: the word table and the ranked report;
//! * [`chars`] over the generated [`tables`]: Unicode 14.0.0 properties, as Python 3.11.

pub mod chars;
pub mod counter;
pub mod decode;
pub mod seed;
pub mod split;
pub mod tables;
pub mod tally;
pub mod words;

use std::collections::HashSet;

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

fn value_error(e: counter::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A streaming word counter (see `wordfreq_service/_core.pyi`).
#[pyclass(name = "Counter", module = "wordfreq_service._core")]
struct PyCounter {
    inner: counter::Counter,
}

#[pymethods]
impl PyCounter {
    #[new]
    #[pyo3(signature = (mode = "words", encoding = None))]
    fn new(mode: &str, encoding: Option<&str>) -> PyResult<Self> {
        let inner = counter::Counter::new(mode, encoding).map_err(value_error)?;
        Ok(PyCounter { inner })
    }

    #[getter]
    fn mode(&self) -> &'static str {
        self.inner.mode().name()
    }

    #[getter]
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Count a chunk. Releases the GIL; large chunks are split across all cores.
    fn feed(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let inner = &mut self.inner;
        if let Ok(bytes) = data.extract::<PyBackedBytes>() {
            return py.detach(|| inner.feed(&bytes)).map_err(value_error);
        }
        // Any other buffer (memoryview, array...): copy it, then count without the GIL.
        let buffer = PyBuffer::<u8>::get(data)?;
        let bytes = buffer.to_vec(py)?;
        py.detach(|| inner.feed(&bytes)).map_err(value_error)
    }

    /// End of input: count whatever is still pending. Idempotent.
    fn finish(&mut self, py: Python<'_>) {
        let inner = &mut self.inner;
        py.detach(|| inner.finish());
    }

    /// Add `other`'s counts into this counter (both are finished first; same mode).
    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        if slf.is(other) {
            let mut me = slf.borrow_mut();
            let inner = &mut me.inner;
            py.detach(|| inner.merge_into_self());
            return Ok(());
        }
        let mut me = slf.borrow_mut();
        let mut them = other.borrow_mut();
        let (a, b) = (&mut me.inner, &mut them.inner);
        py.detach(|| a.merge(b)).map_err(value_error)
    }

    /// `(total, unique, words)` over the words that pass the filters.
    #[pyo3(
        signature = (top = Some(10), min_length = 1, stopwords = None),
        text_signature = "($self, top=10, min_length=1, stopwords=None)"
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
        let min_length = usize::try_from(min_length.max(0)).unwrap_or(usize::MAX);
        let mut stop: HashSet<String> = HashSet::new();
        if let Some(words) = stopwords {
            for item in words.try_iter()? {
                if let Ok(s) = item?.cast::<PyString>() {
                    stop.insert(s.to_str()?.to_owned());
                }
            }
        }
        let inner = &mut self.inner;
        let report = py.detach(|| inner.report(top, min_length, |w| stop.contains(w)));
        let words = PyList::empty(py);
        for (word, n) in &report.words {
            words.append((word.as_str(), *n))?;
        }
        (report.total, report.unique, words).into_pyobject(py)
    }

    /// Every word with its count, unfiltered.
    fn counts<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = &mut self.inner;
        let tally = py.detach(|| inner.tally());
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
            "Counter(mode='{}', encoding={enc}, finished={})",
            self.inner.mode().name(),
            if self.inner.is_finished() {
                "True"
            } else {
                "False"
            }
        )
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyCounter>()?;
    Ok(())
}
