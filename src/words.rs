//! `words` mode: the tokenizer (runs of letters and marks, joined by a single apostrophe
//! between letters) and the normalisation of each word (U+2019 -> U+0027, Python's
//! `str.lower()` with its final-sigma rule, NFC).
//!
//! [`ByteWords`] scans the decodings in which ASCII bytes stand for themselves, with an
//! ASCII fast path that looks words up straight from the input (UTF-16 input is
//! transcoded to UTF-8 first, see `counter`).
//!
//! A word longer than the limit (in code points of the decoded input, apostrophes that
//! join included, before normalisation) is not counted but tallied as skipped. Once a
//! word in progress passes the limit its characters are no longer buffered, so memory
//! never grows with the length of a run, however many chunks it spans.
//!
//! A run that passes between a script written without spaces and any other is cut there;
//! the parts in unspaced scripts are segmented into words by `segment` (the limit then
//! applies to each of their words).

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::chars::{is_alpha, is_case_ignorable, is_cased, is_mark, push_lower_full};
use crate::decode::{decode_byte_char, ByteDecoding, CutChar};
use crate::segment::{is_unspaced, Piece, UnspacedRun};
use crate::tally::{Batch, Tally};

/// Where [`WordState`] sends each word it ends: the word table itself, or the n-gram
/// window (see `ngrams`), which joins consecutive words before they reach the table.
pub trait WordSink {
    /// One normalised word.
    fn word(&mut self, word: &[u8]);
    /// A run over the word-length limit, not counted.
    fn skip(&mut self);
}

impl WordSink for Tally {
    #[inline]
    fn word(&mut self, word: &[u8]) {
        self.add(word);
    }

    #[inline]
    fn skip(&mut self) {
        self.skipped += 1;
    }
}

const SEP: u8 = 0;
const LETTER: u8 = 1;
const APOS: u8 = 2;
const HIGH: u8 = 3;

/// Class of each byte for the ASCII fast path.
static CLASS: [u8; 256] = {
    let mut t = [SEP; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = if b >= 0x80 {
            HIGH
        } else if (b as u8).is_ascii_alphabetic() {
            LETTER
        } else if b == b'\'' as usize {
            APOS
        } else {
            SEP
        };
        b += 1;
    }
    t
};

#[inline]
fn is_letter(b: u8) -> bool {
    (b | 0x20).wrapping_sub(b'a') < 26
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

#[inline]
fn load8(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Bit 7 of each byte of `w` that is an ASCII letter (SWAR).
#[inline]
fn letter_bits(w: u64) -> u64 {
    let x = (w | 0x2020_2020_2020_2020) & LOW7; // fold case
    let ge_a = x + 0x1F1F_1F1F_1F1F_1F1F; // >= b'a'
    let gt_z = x + 0x0505_0505_0505_0505; // > b'z'
    ge_a & !gt_z & !w & HIGH_BITS
}

/// Bit 7 of each byte of `w` that equals `b` (< 0x80) (SWAR, exact).
#[inline]
fn byte_eq_bits(w: u64, b: u8) -> u64 {
    let v = w ^ (0x0101_0101_0101_0101 * u64::from(b));
    !(((v & LOW7) + LOW7) | v) & HIGH_BITS
}

/// The first position at or after `i` that is not an ASCII letter.
#[inline]
fn skip_letters(buf: &[u8], mut i: usize) -> usize {
    let n = buf.len();
    while i + 8 <= n {
        let other = !letter_bits(load8(buf, i)) & HIGH_BITS;
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && is_letter(buf[i]) {
        i += 1;
    }
    i
}

/// The first position at or after `i` that is not a separator (see [`is_safe_split_byte`]).
#[inline]
fn skip_separators(buf: &[u8], mut i: usize) -> usize {
    let n = buf.len();
    if i < n && CLASS[buf[i] as usize] != SEP {
        return i; // most words are followed by a single separator
    }
    while i + 8 <= n {
        let w = load8(buf, i);
        let other = letter_bits(w) | byte_eq_bits(w, b'\'') | (w & HIGH_BITS);
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && CLASS[buf[i] as usize] == SEP {
        i += 1;
    }
    i
}

/// True for an ASCII byte that always ends a word in `words` mode (any decoding where
/// ASCII bytes stand for themselves): a safe place to split the input.
#[inline]
pub fn is_safe_split_byte(b: u8) -> bool {
    CLASS[b as usize] == SEP
}

/// Where the first safe split byte of `buf` is (see [`is_safe_split_byte`]).
pub fn find_safe_split_byte(buf: &[u8]) -> Option<usize> {
    crate::split::find_safe(
        buf,
        |w| !(letter_bits(w) | byte_eq_bits(w, b'\'') | w) & HIGH_BITS,
        is_safe_split_byte,
    )
}

/// One word normalised exactly as `words` mode normalises the words it counts (U+2019 to
/// `'`, full lowercase with final sigma, NFC): stop-word lists use it so that an entry
/// matches the word the counter produced.
pub fn normalize_word(word: &str) -> String {
    let prepared: String = word
        .chars()
        .map(|c| {
            if c == '\u{2019}' {
                '\''
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    Normalizer::default().normalize(&prepared).to_owned()
}

/// Scratch buffers for normalising non-ASCII words.
#[derive(Clone, Debug, Default)]
struct Normalizer {
    chars: Vec<char>,
    lower: String,
    nfc: String,
}

impl Normalizer {
    /// Lowercase (full mapping, final sigma in the context of the word) and NFC-compose
    /// `word`, which already has U+2019 replaced and ASCII letters lowercased.
    fn normalize<'a>(&'a mut self, word: &str) -> &'a str {
        self.chars.clear();
        self.chars.extend(word.chars());
        self.lower.clear();
        for (i, &c) in self.chars.iter().enumerate() {
            if c == '\u{03A3}' {
                self.lower.push(if final_sigma(&self.chars, i) {
                    '\u{03C2}'
                } else {
                    '\u{03C3}'
                });
            } else {
                push_lower_full(c, &mut self.lower);
            }
        }
        if is_nfc_quick(self.lower.chars()) == IsNormalized::Yes {
            &self.lower
        } else {
            self.nfc.clear();
            self.nfc.extend(self.lower.nfc());
            &self.nfc
        }
    }
}

/// CPython's `handle_capital_sigma`: Σ at `i` is final when a cased letter precedes it
/// (skipping case-ignorables) and none follows it (skipping case-ignorables).
fn final_sigma(chars: &[char], i: usize) -> bool {
    let before = chars[..i].iter().rev().find(|&&c| !is_case_ignorable(c));
    if !before.is_some_and(|&c| is_cased(c)) {
        return false;
    }
    let after = chars[i + 1..].iter().find(|&&c| !is_case_ignorable(c));
    !after.is_some_and(|&c| is_cased(c))
}

/// The word being built, carried across chunks.
#[derive(Clone, Debug)]
pub struct WordState {
    /// The word so far in UTF-8: ASCII letters lowercased, U+2019 stored as `'`. Empty
    /// while skipping.
    word: Vec<u8>,
    /// Code points of the word so far (joining apostrophes included); 0: no word.
    len: usize,
    /// Longest word counted, in code points.
    max: usize,
    /// The word in progress is longer than `max`: it is being skipped, not buffered.
    skipping: bool,
    /// The word holds a non-ASCII character (it needs the full normalisation).
    non_ascii: bool,
    /// The word is followed by one apostrophe that joins if a letter comes next.
    apos: bool,
    norm: Normalizer,
    /// The part of the run in progress in a script written without spaces (then `len` is
    /// 0: its characters are in `run`).
    unspaced: bool,
    run: UnspacedRun,
}

impl WordState {
    pub fn new(max: usize) -> Self {
        WordState {
            word: Vec::new(),
            len: 0,
            max,
            skipping: false,
            non_ascii: false,
            apos: false,
            norm: Normalizer::default(),
            unspaced: false,
            run: UnspacedRun::default(),
        }
    }

    /// No word in progress.
    #[inline]
    pub fn is_clean(&self) -> bool {
        self.len == 0 && !self.unspaced
    }

    /// Add a character to the unspaced part in progress.
    fn push_unspaced(&mut self, c: char, tally: &mut impl WordSink) {
        let (max, norm) = (self.max, &mut self.norm);
        self.run
            .push(c, &mut |piece| count_segment(piece, max, norm, tally));
    }

    /// The unspaced part in progress ends: count its words.
    fn end_unspaced(&mut self, tally: &mut impl WordSink) {
        let (max, norm) = (self.max, &mut self.norm);
        self.run
            .finish(&mut |piece| count_segment(piece, max, norm, tally));
        self.unspaced = false;
    }

    /// The word grows by `n` code points; false when they are not to be buffered (the
    /// word is over the limit).
    #[inline]
    fn grow(&mut self, n: usize) -> bool {
        if self.skipping {
            return false;
        }
        self.len += n;
        if self.len > self.max {
            self.skipping = true;
            self.word.clear();
            self.non_ascii = false;
            return false;
        }
        true
    }

    #[inline]
    fn join(&mut self) {
        if self.apos {
            self.apos = false;
            if self.grow(1) {
                self.word.push(b'\'');
            }
        }
    }

    #[inline]
    fn apostrophe(&mut self, tally: &mut impl WordSink) {
        if self.len > 0 && !self.apos {
            self.apos = true;
        } else {
            self.end_word(tally);
        }
    }

    /// Feed one ASCII character.
    #[inline]
    pub fn push_ascii(&mut self, b: u8, tally: &mut impl WordSink) {
        match CLASS[b as usize] {
            LETTER => {
                if self.unspaced {
                    self.end_unspaced(tally);
                }
                self.join();
                if self.grow(1) {
                    self.word.push(b | 0x20);
                }
            }
            APOS => self.apostrophe(tally),
            _ => self.end_word(tally),
        }
    }

    /// Feed one character.
    #[inline]
    pub fn push_char(&mut self, c: char, tally: &mut impl WordSink) {
        if c.is_ascii() {
            self.push_ascii(c as u8, tally);
        } else if c == '\u{2019}' {
            self.apostrophe(tally);
        } else if is_alpha(c) {
            if self.unspaced {
                if is_unspaced(c) || is_mark(c) {
                    self.push_unspaced(c, tally);
                    return;
                }
                self.end_unspaced(tally);
            } else if is_unspaced(c) && !(self.len > 0 && !self.apos && is_mark(c)) {
                // A letter of an unspaced script starts an unspaced part, and so does a
                // mark of one unless it follows a spaced letter (whose word it then
                // continues); an apostrophe before it joins nothing.
                self.end_word(tally);
                self.unspaced = true;
                self.push_unspaced(c, tally);
                return;
            }
            self.join();
            if self.grow(1) {
                let mut buf = [0u8; 4];
                self.word
                    .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                self.non_ascii = true;
            }
        } else {
            self.end_word(tally);
        }
    }

    /// A separator (or the end of input): count the word in progress, if any.
    pub fn end_word(&mut self, tally: &mut impl WordSink) {
        if self.unspaced {
            self.end_unspaced(tally);
        }
        self.apos = false;
        if self.len == 0 {
            return;
        }
        if self.skipping {
            tally.skip();
            self.skipping = false;
        } else if self.non_ascii {
            match std::str::from_utf8(&self.word) {
                Ok(word) => tally.word(self.norm.normalize(word).as_bytes()),
                Err(_) => debug_assert!(false, "word buffer is built from chars"),
            }
            self.non_ascii = false;
        } else {
            tally.word(&self.word);
        }
        self.word.clear();
        self.len = 0;
    }

    /// Start a word from ASCII letters and apostrophes (the fast path hands over; no
    /// word is in progress).
    fn take_ascii(&mut self, part: &[u8]) {
        if self.grow(part.len()) {
            self.word.extend(part.iter().map(|&b| b | 0x20));
        }
    }

    /// Skipping a word: pass the ASCII letters at `buf[i..]` without looking at them one
    /// by one (a run of billions of letters is a plausible hostile input).
    #[inline]
    fn skip_ascii_letters(&mut self, buf: &[u8], i: usize) -> usize {
        debug_assert!(self.skipping && is_letter(buf[i]));
        self.apos = false;
        skip_letters(buf, i)
    }
}

/// Count one piece of an unspaced part: a word (composed, as segmented) is skipped when
/// longer than `max` code points, else normalised as every word is.
fn count_segment(piece: Piece, max: usize, norm: &mut Normalizer, tally: &mut impl WordSink) {
    match piece {
        Piece::Word(word) if word.chars().count() <= max => {
            tally.word(norm.normalize(word).as_bytes())
        }
        _ => tally.skip(),
    }
}

/// Streaming `words` tokenizer over a decoding in which ASCII bytes stand for themselves.
#[derive(Clone, Debug)]
pub struct ByteWords {
    dec: ByteDecoding,
    state: WordState,
    batch: Batch,
    /// An unfinished UTF-8 sequence at the end of the last chunk.
    cut: CutChar,
}

impl ByteWords {
    /// A tokenizer that counts words of at most `max_len` code points.
    pub fn new(dec: ByteDecoding, max_len: usize) -> Self {
        ByteWords {
            dec,
            state: WordState::new(max_len),
            batch: Batch::default(),
            cut: CutChar::default(),
        }
    }

    /// A scanner in the state right after a safe split byte (nothing pending).
    pub fn fresh(&self) -> Self {
        Self::new(self.dec, self.state.max)
    }

    /// Nothing carried: no word in progress and no unfinished sequence.
    pub fn is_clean(&self) -> bool {
        self.state.is_clean() && self.cut.is_empty()
    }

    /// Count the words of the next chunk of input.
    pub fn feed(&mut self, buf: &[u8], tally: &mut Tally) {
        let state = &mut self.state;
        let Some(start) = self
            .cut
            .resume(self.dec, buf, |c| state.push_char(c, tally))
        else {
            return;
        };
        self.scan(buf, start, tally);
        self.batch.flush(tally);
    }

    /// End of input: decode what is pending and count the last word.
    pub fn finish(&mut self, tally: &mut Tally) {
        let state = &mut self.state;
        self.cut.finish(self.dec, |c| state.push_char(c, tally));
        self.state.end_word(tally);
    }

    fn scan(&mut self, buf: &[u8], mut i: usize, tally: &mut Tally) {
        let n = buf.len();
        let max = self.state.max;
        // The one-load path takes words of 1 to `tiny_max` letters: one compare.
        let tiny_max = max.min(7);
        while i < n {
            if self.state.is_clean() {
                // Fast path: ASCII words are looked up straight from the input.
                loop {
                    i = skip_separators(buf, i);
                    if i >= n {
                        return;
                    }
                    // The common case in one load: 1-7 ASCII letters, then a separator.
                    if i + 8 <= n {
                        let w = load8(buf, i);
                        let len = ((!letter_bits(w) & HIGH_BITS).trailing_zeros() / 8) as usize;
                        if len.wrapping_sub(1) < tiny_max
                            && is_safe_split_byte((w >> (8 * len)) as u8)
                        {
                            self.batch.push_tiny_ascii_word(w, len, tally);
                            i += len + 1;
                            continue;
                        }
                        // The next commonest in two: 8-15 ASCII letters, then a separator.
                        if len == 8 && i + 16 <= n {
                            let w2 = load8(buf, i + 8);
                            let len2 =
                                ((!letter_bits(w2) & HIGH_BITS).trailing_zeros() / 8) as usize;
                            if len2 < 8
                                && 8 + len2 <= max
                                && is_safe_split_byte((w2 >> (8 * len2)) as u8)
                            {
                                self.batch.push_short_ascii_word(w, w2, len2, tally);
                                i += 8 + len2 + 1;
                                continue;
                            }
                        }
                    }
                    if CLASS[buf[i] as usize] != LETTER {
                        break; // an apostrophe or a non-ASCII byte: slow path
                    }
                    let start = i;
                    loop {
                        i = skip_letters(buf, i);
                        if i + 1 < n && buf[i] == b'\'' && is_letter(buf[i + 1]) {
                            i += 1;
                            continue;
                        }
                        break;
                    }
                    let ends_here = i < n
                        && match CLASS[buf[i] as usize] {
                            SEP => true,
                            APOS => i + 1 < n && buf[i + 1] < 0x80,
                            _ => false,
                        };
                    if !ends_here {
                        // The word may go on (end of chunk, a non-ASCII character, an
                        // apostrophe before one): hand it to the slow path.
                        self.state.take_ascii(&buf[start..i]);
                        break;
                    }
                    if i - start <= max {
                        self.batch.push_ascii_word(buf, start, i, tally);
                    } else {
                        tally.skipped += 1;
                    }
                    i += 1;
                }
            }
            // Slow path: one character at a time until no word is in progress and the
            // next byte is ASCII.
            while i < n {
                let b = buf[i];
                if b < 0x80 {
                    if self.state.skipping && is_letter(b) {
                        i = self.state.skip_ascii_letters(buf, i);
                    } else {
                        self.state.push_ascii(b, tally);
                        i += 1;
                    }
                } else {
                    match decode_byte_char(self.dec, &buf[i..], false) {
                        Some((c, len)) => {
                            self.state.push_char(c, tally);
                            i += len;
                        }
                        None => {
                            self.cut.keep(&buf[i..]);
                            return;
                        }
                    }
                }
                if self.state.is_clean() && i < n && buf[i] < 0x80 {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `counts_csv::MAX_WORD_BYTES` rests on this: a word's normalised form (NFC) is no
    /// longer than the canonical decomposition of its lowercase form, which is at most 12
    /// bytes per code point of the word.
    #[test]
    fn normalising_a_code_point_gives_at_most_12_bytes() {
        let longest = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .map(|c| {
                let lower: String = c.to_lowercase().collect();
                let nfd = lower.nfd().map(char::len_utf8).sum::<usize>();
                let normalised = normalize_word(&c.to_string()).len();
                assert!(normalised <= 12, "{c:?}: {normalised} bytes");
                nfd
            })
            .max();
        assert_eq!(longest, Some(12));
        assert_eq!(
            crate::counts_csv::MAX_WORD_BYTES,
            12 * crate::counter::MAX_WORD_LENGTH_LIMIT
        );
    }

    fn count_limited(dec: ByteDecoding, max: usize, chunks: &[&[u8]]) -> (Vec<(String, u64)>, u64) {
        let mut t = Tally::new();
        let mut w = ByteWords::new(dec, max);
        for c in chunks {
            w.feed(c, &mut t);
        }
        w.finish(&mut t);
        let mut v: Vec<_> = t.iter().map(|(w, n)| (w.as_str().to_string(), n)).collect();
        v.sort();
        (v, t.skipped)
    }

    fn count_chunks(dec: ByteDecoding, chunks: &[&[u8]]) -> Vec<(String, u64)> {
        count_limited(dec, 1000, chunks).0
    }

    fn count(s: &[u8]) -> Vec<(String, u64)> {
        count_chunks(ByteDecoding::Utf8Fallback, &[s])
    }

    fn expect(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        let mut v: Vec<_> = pairs.iter().map(|&(w, n)| (w.to_string(), n)).collect();
        v.sort();
        v
    }

    #[test]
    fn apostrophes_join_letters_only() {
        assert_eq!(
            count("Don’t don't DON'T".as_bytes()),
            expect(&[("don't", 3)])
        );
        assert_eq!(
            count(b"o'clock rock'n'roll 'tis dogs' a''b"),
            expect(&[
                ("o'clock", 1),
                ("rock'n'roll", 1),
                ("tis", 1),
                ("dogs", 1),
                ("a", 1),
                ("b", 1)
            ])
        );
        assert_eq!(count(b"don\x92t"), expect(&[("don't", 1)]));
        assert_eq!(
            count("l’été x'é é'x".as_bytes()),
            expect(&[("l'été", 1), ("x'é", 1), ("é'x", 1)])
        );
        assert_eq!(
            count(b"a'1 b' c '' d'\x00"),
            expect(&[("a", 1), ("b", 1), ("c", 1), ("d", 1)])
        );
    }

    #[test]
    fn separators() {
        assert_eq!(count(b"abc123def"), expect(&[("abc", 1), ("def", 1)]));
        assert_eq!(
            count("zero\u{200B}width soft\u{00AD}hyphen x\u{FFFD}y".as_bytes()),
            expect(&[
                ("zero", 1),
                ("width", 1),
                ("soft", 1),
                ("hyphen", 1),
                ("x", 1),
                ("y", 1)
            ])
        );
        assert_eq!(
            count("a😀b—c".as_bytes()),
            expect(&[("a", 1), ("b", 1), ("c", 1)])
        );
        assert_eq!(count(b""), expect(&[]));
        assert_eq!(count(b" \r\n\t.,;"), expect(&[]));
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            count("café cafe\u{0301} CAFÉ".as_bytes()),
            expect(&[("café", 3)])
        );
        assert_eq!(count("ΟΔΟΣ".as_bytes()), expect(&[("οδος", 1)]));
        assert_eq!(count("ΣΑΣ".as_bytes()), expect(&[("σας", 1)]));
        assert_eq!(count("Σ".as_bytes()), expect(&[("σ", 1)]));
        // Case-ignorable marks are skipped on both sides of the sigma.
        assert_eq!(count("ΑΣ\u{0301}".as_bytes()), expect(&[("ας\u{0301}", 1)]));
        assert_eq!(count("Α\u{0301}ΣΑ".as_bytes()), expect(&[("ά\u{3c3}α", 1)]));
        assert_eq!(count("Straße".as_bytes()), expect(&[("straße", 1)]));
        assert_eq!(
            count("İstanbul".as_bytes()),
            expect(&[("i\u{0307}stanbul", 1)])
        );
        assert_eq!(
            count("ÀÉÎ ÅNGSTRÖM".as_bytes()),
            expect(&[("àéî", 1), ("ångström", 1)])
        );
    }

    #[test]
    fn windows_1252_fallback() {
        // 0x8A Š, 0x9A š, 0x8C Œ, 0x9C œ: letters; 0x97 em dash and 0x81: separators.
        assert_eq!(
            count(b"\x8Aa\x9A \x8Cuvre\x9C x\x97y z\x81w"),
            expect(&[
                ("šaš", 1),
                ("œuvreœ", 1),
                ("x", 1),
                ("y", 1),
                ("z", 1),
                ("w", 1)
            ])
        );
        // E2 80 41: â € A.
        assert_eq!(count(b"\xE2\x80A"), expect(&[("â", 1), ("a", 1)]));
        assert_eq!(count("na\u{EF}ve".as_bytes()), expect(&[("naïve", 1)]));
    }

    #[test]
    fn forced_decodings() {
        let all = |dec, s: &[u8]| count_chunks(dec, &[s]);
        assert_eq!(
            all(ByteDecoding::Cp1252, "é".as_bytes()),
            expect(&[("ã", 1)])
        );
        assert_eq!(
            all(ByteDecoding::Latin1, b"don\x92t"),
            expect(&[("don", 1), ("t", 1)])
        );
        assert_eq!(
            all(ByteDecoding::Cp1252, b"don\x92t"),
            expect(&[("don't", 1)])
        );
        assert_eq!(
            all(ByteDecoding::Utf8Replace, b"ab\xE9cd"),
            expect(&[("ab", 1), ("cd", 1)])
        );
    }

    #[test]
    fn every_split_of_a_chunk_gives_the_same_counts() {
        let text = "Don’t stop—the CAFÉ’s ΟΔΟΣ; rock'n'roll ab\u{0301}c \x7f dogs' x".as_bytes();
        let mut text = text.to_vec();
        text.extend_from_slice(b" don\x92t \xE2\x80A \xC3");
        for dec in [
            ByteDecoding::Utf8Fallback,
            ByteDecoding::Utf8Replace,
            ByteDecoding::Cp1252,
        ] {
            let whole = count_chunks(dec, &[&text]);
            for a in 0..text.len() {
                assert_eq!(
                    count_chunks(dec, &[&text[..a], &text[a..]]),
                    whole,
                    "{dec:?} cut {a}"
                );
                let b = (a + 1).min(text.len());
                let parts = [&text[..a], &text[a..b], &[][..], &text[b..]];
                assert_eq!(count_chunks(dec, &parts), whole, "{dec:?} cuts {a} {b}");
            }
            let bytewise: Vec<&[u8]> = text.chunks(1).collect();
            assert_eq!(count_chunks(dec, &bytewise), whole);
        }
    }

    #[test]
    fn words_over_the_limit_are_skipped() {
        let utf8 = ByteDecoding::Utf8Fallback;
        // Exactly the limit is counted; one more is skipped.
        assert_eq!(
            count_limited(utf8, 3, &[b"abc abcd ab"]),
            (expect(&[("abc", 1), ("ab", 1)]), 1)
        );
        // A joining apostrophe counts; leading and trailing ones are not part of a word.
        assert_eq!(
            count_limited(utf8, 4, &[b"don't 'tis dogs' rock'n"]),
            (expect(&[("tis", 1), ("dogs", 1)]), 2)
        );
        // U+2019 and the Windows-1252 apostrophe are one code point each.
        assert_eq!(
            count_limited(utf8, 5, &["don’t ".as_bytes(), b"don\x92t"]),
            (expect(&[("don't", 2)]), 0)
        );
        assert_eq!(
            count_limited(utf8, 4, &["don’t ".as_bytes(), b"don\x92t"]),
            (expect(&[]), 2)
        );
        // Code points of the input before normalisation: NFD café is 5, NFC is 4;
        // İ is one code point although it lowercases to two.
        assert_eq!(
            count_limited(utf8, 4, &["café cafe\u{301} İSTA".as_bytes()]),
            (expect(&[("café", 1), ("i\u{307}sta", 1)]), 1)
        );
        // Windows-1252 bytes are one code point each.
        assert_eq!(
            count_limited(utf8, 3, &[b"\x8Aa\x9A \x8Caa\x9C"]),
            (expect(&[("šaš", 1)]), 1)
        );
        // The fast path's short words, and a limit below them.
        assert_eq!(
            count_limited(utf8, 1, &[b"a bb c dd e, f.g'h"]),
            (expect(&[("a", 1), ("c", 1), ("e", 1), ("f", 1)]), 3)
        );
    }

    #[test]
    fn words_of_8_to_15_letters_read_in_two_loads() {
        // Byte by byte no two loads fit: the general path counts them.
        let text = b"Abcdefgh ABCDEFGHI abcdefghijklmno, abcdefghijklmnop abcdefgh'ij \
                     abcdefgh\xC3\xA9 ABCDEFGHIjklmno1 x abcdefgh";
        for max in [7, 8, 9, 14, 15, 16] {
            let whole = count_limited(ByteDecoding::Utf8Fallback, max, &[text]);
            let bytewise: Vec<&[u8]> = text.chunks(1).collect();
            assert_eq!(
                whole,
                count_limited(ByteDecoding::Utf8Fallback, max, &bytewise),
                "{max}"
            );
        }
        assert_eq!(
            count_limited(ByteDecoding::Utf8Fallback, 9, &[text]),
            (
                expect(&[
                    ("abcdefgh", 2),
                    ("abcdefghi", 1),
                    ("abcdefghé", 1),
                    ("x", 1)
                ]),
                4
            )
        );
    }

    #[test]
    fn the_limit_does_not_depend_on_chunking() {
        let mut text = "Don’t stop—the CAFÉ’s ΟΔΟΣ; rock'n'roll ab\u{0301}c dogs' x"
            .as_bytes()
            .to_vec();
        text.extend_from_slice(b" don\x92t \xE2\x80A \xC3 abcdefghijklmnopq'rs \xC3");
        for dec in [ByteDecoding::Utf8Fallback, ByteDecoding::Cp1252] {
            for max in [1, 2, 3, 4, 5, 6, 8, 11, 20] {
                let whole = count_limited(dec, max, &[&text]);
                for a in 0..=text.len() {
                    let b = (a + 5).min(text.len());
                    let parts = [&text[..a], &text[a..b], &text[b..]];
                    assert_eq!(count_limited(dec, max, &parts), whole, "{max} {a}");
                }
                let bytewise: Vec<&[u8]> = text.chunks(1).collect();
                assert_eq!(count_limited(dec, max, &bytewise), whole);
            }
        }
    }

    #[test]
    fn a_long_run_across_chunks_is_skipped_once_and_not_buffered() {
        for piece in [&b"abcdefgh"[..], "éa’b".as_bytes()] {
            let mut t = Tally::new();
            let mut w = ByteWords::new(ByteDecoding::Utf8Fallback, 100);
            w.feed(b"first ", &mut t);
            let chunk = piece.repeat(512);
            for _ in 0..1000 {
                w.feed(&chunk, &mut t);
                assert!(
                    w.state.word.capacity() <= 512,
                    "{}",
                    w.state.word.capacity()
                );
            }
            w.feed(b" last", &mut t);
            w.finish(&mut t);
            assert_eq!(t.skipped, 1);
            let mut words: Vec<_> = t.iter().map(|(w, n)| (w.as_str().to_string(), n)).collect();
            words.sort();
            assert_eq!(words, expect(&[("first", 1), ("last", 1)]));
        }
    }

    #[test]
    fn swar_classes_match_the_byte_table() {
        for b in 0..=255u8 {
            let w = u64::from_le_bytes([b'x', b, b'.', b, 0x80, b, 0xFF, b]);
            let letters = letter_bits(w);
            let apos = byte_eq_bits(w, b'\'');
            for k in 0..8 {
                let byte = w.to_le_bytes()[k];
                let bit = 0x80u64 << (8 * k);
                assert_eq!(
                    letters & bit != 0,
                    CLASS[byte as usize] == LETTER,
                    "{byte:#x}"
                );
                assert_eq!(apos & bit != 0, byte == b'\'', "{byte:#x}");
            }
        }
        let text = b"  hello, world's end... \xE9t\xE9 'x' abcdefghijklmnop";
        for i in 0..text.len() {
            let mut j = i;
            while j < text.len() && is_letter(text[j]) {
                j += 1;
            }
            assert_eq!(skip_letters(text, i), j);
            let mut j = i;
            while j < text.len() && is_safe_split_byte(text[j]) {
                j += 1;
            }
            assert_eq!(skip_separators(text, i), j);
        }
    }

    #[test]
    fn safe_split_bytes() {
        assert!(is_safe_split_byte(b' ') && is_safe_split_byte(b'1') && is_safe_split_byte(b'-'));
        assert!(!is_safe_split_byte(b'a') && !is_safe_split_byte(b'\''));
        assert!(!is_safe_split_byte(0x92) && !is_safe_split_byte(0xC3));
    }
}
