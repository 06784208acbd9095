//! Reading a counts CSV back into a word table: the text [`crate::tally::write_csv_rows`]
//! writes after its `word,count` header, read as Python's `csv` module reads it (fields
//! quoted with `"` may hold commas, doubled quotes and line breaks; rows end with `\n`
//! or `\r\n`), fed in chunks that may cut a row, a field or a character anywhere.
//!
//! Memory grows with the vocabulary only: one field is buffered at a time, and no field
//! may be longer than the longest key (word or phrase) a counter can produce.

use std::fmt;

use crate::counter::MAX_WORD_LENGTH_LIMIT;
use crate::ngrams::MAX_NGRAMS;
use crate::tally::Tally;

/// The header row every counts CSV starts with.
pub const HEADER: [&str; 2] = ["word", "count"];

/// Longest word a counter keeps, in bytes: `MAX_WORD_LENGTH_LIMIT` input code points,
/// and normalising one (full lowercase, then NFC) gives at most 3 code points of at most
/// 4 bytes: NFC output is no longer than the canonical decomposition, and the longest
/// decomposition of a lowercased code point is 12 bytes (U+1D160, 4 bytes, decomposes
/// into three 4-byte code points; U+FB2C, 3 bytes, into three 2-byte ones).
/// `words::tests` checks the bound on every code point. Seed mode's words are at most
/// `MAX_WORD_LENGTH_LIMIT` raw bytes, well within it.
pub const MAX_WORD_BYTES: usize = 12 * MAX_WORD_LENGTH_LIMIT;

/// Longest key field accepted, in bytes: a phrase of `MAX_NGRAMS` longest words joined by
/// single spaces.
pub const MAX_KEY_BYTES: usize = MAX_NGRAMS * MAX_WORD_BYTES + MAX_NGRAMS - 1;

/// Longest count field: `u64::MAX` has 20 digits.
const MAX_COUNT_DIGITS: usize = 20;

/// A malformed counts CSV: the line (1-based) and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvError {
    pub line: u64,
    pub what: String,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed counts CSV at line {}: {}",
            self.line, self.what
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first byte of a row.
    StartRow,
    /// Before the first byte of a field after a comma.
    StartField,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// A `"` inside a quoted field: its end, or the first of a doubled quote.
    QuoteInQuoted,
    /// A `\r` ended the row's last field: only `\n` may follow.
    AfterCr,
    /// A `\r` began a row: a blank line if `\n` follows.
    BlankCr,
}

/// A streaming counts-CSV reader that adds every row to its table.
#[derive(Debug)]
pub struct CountsCsvReader {
    tally: Tally,
    state: State,
    /// The word field of the current row, then the count field.
    word: Vec<u8>,
    count: Vec<u8>,
    /// Fields completed in the current row.
    fields: usize,
    /// The line of the next byte, and of the current row's start.
    line: u64,
    row_line: u64,
    header_seen: bool,
}

impl Default for CountsCsvReader {
    fn default() -> Self {
        Self::new()
    }
}

impl CountsCsvReader {
    pub fn new() -> Self {
        CountsCsvReader {
            tally: Tally::new(),
            state: State::StartRow,
            word: Vec::new(),
            count: Vec::new(),
            fields: 0,
            line: 1,
            row_line: 1,
            header_seen: false,
        }
    }

    fn error(&self, line: u64, what: impl Into<String>) -> CsvError {
        CsvError {
            line,
            what: what.into(),
        }
    }

    /// Read the next chunk of the CSV.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), CsvError> {
        let mut i = 0;
        let n = data.len();
        while i < n {
            let b = data[i];
            i += 1;
            match self.state {
                State::StartRow => {
                    // A blank line is no row, as Python's csv module reads it (the writer
                    // never writes one; skipping it costs nothing).
                    if b == b'\n' {
                        self.line += 1;
                        continue;
                    }
                    if b == b'\r' {
                        self.state = State::BlankCr;
                        continue;
                    }
                    self.row_line = self.line;
                    self.fields = 0;
                    self.state = State::StartField;
                    i -= 1; // the same byte, now at the start of a field
                }
                State::StartField => {
                    if b == b'"' {
                        self.state = State::Quoted;
                    } else {
                        self.state = State::Unquoted;
                        i -= 1;
                    }
                }
                State::Unquoted => {
                    // Most of the text: copy the run up to the next special byte at once.
                    let run = data[i - 1..]
                        .iter()
                        .position(|&c| matches!(c, b',' | b'\n' | b'\r'))
                        .map_or(n, |p| i - 1 + p);
                    self.push(&data[i - 1..run])?;
                    i = run;
                    if let Some(&end) = data.get(run) {
                        i += 1;
                        self.end_of_field(end)?;
                    }
                }
                State::Quoted => {
                    let run = data[i - 1..]
                        .iter()
                        .position(|&c| c == b'"')
                        .map_or(n, |p| i - 1 + p);
                    let text = &data[i - 1..run];
                    self.line += text.iter().filter(|&&c| c == b'\n').count() as u64;
                    self.push(text)?;
                    i = run;
                    if run < n {
                        i += 1;
                        self.state = State::QuoteInQuoted;
                    }
                }
                State::QuoteInQuoted => {
                    if b == b'"' {
                        self.push(b"\"")?;
                        self.state = State::Quoted;
                    } else if matches!(b, b',' | b'\n' | b'\r') {
                        self.end_of_field(b)?;
                    } else {
                        return Err(self.error(
                            self.line,
                            "a quoted field must be followed by a comma or the end of the line",
                        ));
                    }
                }
                State::AfterCr => {
                    if b != b'\n' {
                        return Err(self.error(self.line, "a carriage return inside a row"));
                    }
                    self.end_row()?;
                }
                State::BlankCr => {
                    if b != b'\n' {
                        return Err(self.error(self.line, "a carriage return inside a row"));
                    }
                    self.line += 1;
                    self.state = State::StartRow;
                }
            }
        }
        Ok(())
    }

    /// The field just read ends with `end` (a comma, `\n` or `\r`).
    fn end_of_field(&mut self, end: u8) -> Result<(), CsvError> {
        self.fields += 1;
        match end {
            b',' => {
                if self.fields >= HEADER.len() {
                    return Err(self.error(self.line, "more than two fields (word,count)"));
                }
                self.state = State::StartField;
                Ok(())
            }
            b'\r' => {
                self.state = State::AfterCr;
                Ok(())
            }
            _ => self.end_row(),
        }
    }

    /// Add a field's bytes, refusing fields longer than any counter writes.
    fn push(&mut self, bytes: &[u8]) -> Result<(), CsvError> {
        let (field, limit) = if self.fields == 0 {
            (&mut self.word, MAX_KEY_BYTES)
        } else {
            (&mut self.count, MAX_COUNT_DIGITS)
        };
        if field.len() + bytes.len() > limit {
            let what = if self.fields == 0 {
                format!("a word or phrase longer than {MAX_KEY_BYTES} bytes")
            } else {
                "a count that is not a number from 1 to 2**64-1".to_string()
            };
            return Err(self.error(self.line, what));
        }
        field.extend_from_slice(bytes);
        Ok(())
    }

    /// The row is complete (its line break is read).
    fn end_row(&mut self) -> Result<(), CsvError> {
        let line = self.row_line;
        self.line += 1;
        self.state = State::StartRow;
        if self.fields != HEADER.len() {
            return Err(self.error(line, "expected two fields (word,count)"));
        }
        let (word, count) = (
            std::mem::take(&mut self.word),
            std::mem::take(&mut self.count),
        );
        if !self.header_seen {
            if word != HEADER[0].as_bytes() || count != HEADER[1].as_bytes() {
                return Err(self.error(line, "the header must be word,count"));
            }
            self.header_seen = true;
        } else {
            if std::str::from_utf8(&word).is_err() {
                return Err(self.error(line, "the word is not valid UTF-8"));
            }
            let n = parse_count(&count).ok_or_else(|| {
                self.error(line, "a count that is not a number from 1 to 2**64-1")
            })?;
            self.tally.add_n(&word, n);
        }
        // The buffers are reused (their capacity is the longest field so far).
        self.word = word;
        self.word.clear();
        self.count = count;
        self.count.clear();
        Ok(())
    }

    /// End of the CSV: the table of its counts (a last row may lack its line break).
    pub fn finish(mut self) -> Result<Tally, CsvError> {
        match self.state {
            State::StartRow | State::BlankCr => {}
            State::Quoted => {
                return Err(self.error(
                    self.row_line,
                    "the data ends inside a quoted field begun on this line",
                ));
            }
            State::StartField | State::Unquoted | State::QuoteInQuoted => {
                self.fields += 1;
                self.end_row()?;
            }
            State::AfterCr => self.end_row()?,
        }
        if !self.header_seen {
            return Err(self.error(1, "no header: a counts CSV starts with word,count"));
        }
        Ok(self.tally)
    }
}

/// A count: decimal digits only, from 1 to `u64::MAX`.
fn parse_count(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits)
        .ok()?
        .parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(chunks: &[&[u8]]) -> Result<Vec<(String, u64)>, CsvError> {
        let mut r = CountsCsvReader::new();
        for c in chunks {
            r.feed(c)?;
        }
        let t = r.finish()?;
        let mut v: Vec<_> = t.iter().map(|(w, n)| (w.as_str().to_string(), n)).collect();
        v.sort();
        Ok(v)
    }

    #[test]
    fn quoted_fields_and_every_cut() {
        let csv =
            b"word,count\n\"a,b\",3\n\"say \"\"hi\"\"\",2\n\"two\nlines\",1\n,7\r\nplain,5\nlast,1";
        let want = vec![
            ("".to_string(), 7),
            ("a,b".to_string(), 3),
            ("last".to_string(), 1),
            ("plain".to_string(), 5),
            ("say \"hi\"".to_string(), 2),
            ("two\nlines".to_string(), 1),
        ];
        assert_eq!(read(&[csv]).unwrap(), want);
        for cut in 0..=csv.len() {
            assert_eq!(read(&[&csv[..cut], &csv[cut..]]).unwrap(), want, "{cut}");
        }
        let bytes: Vec<&[u8]> = csv.chunks(1).collect();
        assert_eq!(read(&bytes).unwrap(), want);
    }

    #[test]
    fn malformed_input_says_where() {
        let cases: [(&[u8], u64); 12] = [
            (b"", 1),
            (b"word,count\n\r\n\nx\n", 4),
            (b"words,count\n", 1),
            (b"word,count\nx\n", 2),
            (b"word,count\nx,1,2\n", 2),
            (b"word,count\nx,0\n", 2),
            (b"word,count\nx,-1\n", 2),
            (b"word,count\nx, 1\n", 2),
            (b"word,count\nx,18446744073709551616\n", 2),
            (b"word,count\n\"x\"y,1\n", 2),
            (b"word,count\n\"x\n,1\n", 2),
            (b"word,count\nok,1\n\xff,1\n", 3),
        ];
        for (csv, line) in cases {
            let err = read(&[csv]).unwrap_err();
            assert_eq!(err.line, line, "{:?}: {err}", String::from_utf8_lossy(csv));
        }
        assert_eq!(
            read(&[b"word,count\nx,18446744073709551615\n"]).unwrap(),
            vec![("x".to_string(), u64::MAX)]
        );
    }

    #[test]
    fn the_longest_key_is_read_and_one_byte_more_refused() {
        let mut csv = b"word,count\n".to_vec();
        csv.resize(csv.len() + MAX_KEY_BYTES, b'a');
        let rows = read(&[&csv, b",1\n"]).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0.len(), MAX_KEY_BYTES);
        csv.push(b'a');
        let err = read(&[&csv, b",1\n"]).unwrap_err();
        assert!(err.what.contains("longer than"), "{err}");
    }

    #[test]
    fn a_huge_field_is_refused_without_buffering_it() {
        let mut r = CountsCsvReader::new();
        r.feed(b"word,count\n").unwrap();
        let chunk = vec![b'a'; 1 << 16];
        let mut result = Ok(());
        for _ in 0..=MAX_KEY_BYTES >> 16 {
            result = r.feed(&chunk);
            if result.is_err() {
                break;
            }
        }
        assert!(result.unwrap_err().what.contains("longer than"));
        assert!(r.word.capacity() <= 2 * MAX_KEY_BYTES);
    }
}
