//! `words` mode n-grams: sequences of N consecutive words, counted as one key, the words
//! joined by one space (a word never holds a space, so splitting a key on spaces gives
//! its words back).
//!
//! The words come from the same tokenizer as single words ([`WordState`]); this module
//! only watches the characters between them for what ends a sequence:
//!
//! * a sentence end: any character with Unicode's `Sentence_Terminal` property
//!   ([`is_sentence_terminal`]: `.`, `!`, `?`, `。`, `।`, `؟`, `‼`, ...; not `…`, not `;`),
//!   and U+037E GREEK QUESTION MARK, which the property leaves out;
//! * a paragraph break: a line holding nothing but white space, that is two line breaks
//!   (`\n`, `\r` or `\r\n`, each one break) with only `White_Space` characters between
//!   them, or a U+2029 PARAGRAPH SEPARATOR;
//! * a run skipped for being over the word-length limit (its neighbours were not
//!   consecutive words: something stood between them);
//! * the end of the input (each file is counted by its own counter).
//!
//! Nothing else breaks a sequence: commas, quotes, dashes, brackets, digits, symbols and
//! single line breaks separate words as they always have, and the words on either side
//! are consecutive.
//!
//! Memory: the window holds the last N-1 words (each at most the word-length limit times
//! 12 bytes, normalised) and a batch of 16 phrases; buffers are reused, so counting allocates
//! nothing per word once warm.

use std::collections::VecDeque;

use crate::decode::{decode_byte_char, ByteDecoding, CutChar};
use crate::tally::Tally;
use crate::words::{WordSink, WordState};

/// Longest sequence counted.
pub const MAX_NGRAMS: usize = 5;

/// Unicode's `Sentence_Terminal`, restricted to the code points Unicode 14.0.0 assigns
/// (the version of [`crate::tables`]), as inclusive ranges. None of them is a letter or a
/// mark, so a sentence end always ends the word before it. Taken from the `regex`
/// package's `\p{Sentence_Terminal}`; `tests/test_ngrams_unicode.py` holds this table
/// and the reference's copy to it.
#[rustfmt::skip]
static SENTENCE_TERMINAL: &[(u32, u32)] = &[
    (0x0021, 0x0021), (0x002E, 0x002E), (0x003F, 0x003F), (0x0589, 0x0589), (0x061D, 0x061F),
    (0x06D4, 0x06D4), (0x0700, 0x0702), (0x07F9, 0x07F9), (0x0837, 0x0837), (0x0839, 0x0839),
    (0x083D, 0x083E), (0x0964, 0x0965), (0x104A, 0x104B), (0x1362, 0x1362), (0x1367, 0x1368),
    (0x166E, 0x166E), (0x1735, 0x1736), (0x17D4, 0x17D5), (0x1803, 0x1803), (0x1809, 0x1809),
    (0x1944, 0x1945), (0x1AA8, 0x1AAB), (0x1B5A, 0x1B5B), (0x1B5E, 0x1B5F), (0x1B7D, 0x1B7E),
    (0x1C3B, 0x1C3C), (0x1C7E, 0x1C7F), (0x2024, 0x2024), (0x203C, 0x203D), (0x2047, 0x2049),
    (0x2CF9, 0x2CFB), (0x2E2E, 0x2E2E), (0x2E3C, 0x2E3C), (0x2E53, 0x2E54), (0x3002, 0x3002),
    (0xA4FF, 0xA4FF), (0xA60E, 0xA60F), (0xA6F3, 0xA6F3), (0xA6F7, 0xA6F7), (0xA876, 0xA877),
    (0xA8CE, 0xA8CF), (0xA92F, 0xA92F), (0xA9C8, 0xA9C9), (0xAA5D, 0xAA5F), (0xAAF0, 0xAAF1),
    (0xABEB, 0xABEB), (0xFE12, 0xFE12), (0xFE15, 0xFE16), (0xFE52, 0xFE52), (0xFE56, 0xFE57),
    (0xFF01, 0xFF01), (0xFF0E, 0xFF0E), (0xFF1F, 0xFF1F), (0xFF61, 0xFF61), (0x10A56, 0x10A57),
    (0x10F55, 0x10F59), (0x10F86, 0x10F89), (0x11047, 0x11048), (0x110BE, 0x110C1), (0x11141, 0x11143),
    (0x111C5, 0x111C6), (0x111CD, 0x111CD), (0x111DE, 0x111DF), (0x11238, 0x11239), (0x1123B, 0x1123C),
    (0x112A9, 0x112A9), (0x1144B, 0x1144C), (0x115C2, 0x115C3), (0x115C9, 0x115D7), (0x11641, 0x11642),
    (0x1173C, 0x1173E), (0x11944, 0x11944), (0x11946, 0x11946), (0x11A42, 0x11A43), (0x11A9B, 0x11A9C),
    (0x11C41, 0x11C42), (0x11EF7, 0x11EF8), (0x16A6E, 0x16A6F), (0x16AF5, 0x16AF5), (0x16B37, 0x16B38),
    (0x16B44, 0x16B44), (0x16E98, 0x16E98), (0x1BC9F, 0x1BC9F), (0x1DA88, 0x1DA88),
];

/// True for a character with Unicode's `Sentence_Terminal` property, and for U+037E
/// GREEK QUESTION MARK, Greek's `?`, which the property leaves out because it is
/// canonically equivalent to `;` (ASCII `;` stays no break).
pub fn is_sentence_terminal(c: char) -> bool {
    let cp = u32::from(c);
    if cp < 0x80 {
        return matches!(c, '.' | '!' | '?');
    }
    if c == '\u{37E}' {
        return true;
    }
    SENTENCE_TERMINAL
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Unicode's `White_Space` property (the same set as Go's `unicode.IsSpace`).
fn is_white_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | ' '
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// Watches the characters for sentence ends and paragraph breaks; carried across chunks.
#[derive(Clone, Copy, Debug, Default)]
struct Breaks {
    /// A line break came since the last character that is not white space.
    after_line_break: bool,
    /// The last character was `\r` (a `\n` right after it is the same line break).
    after_cr: bool,
}

impl Breaks {
    /// True when `c` ends the sequence in progress.
    #[inline]
    fn push(&mut self, c: char) -> bool {
        let after_cr = std::mem::replace(&mut self.after_cr, c == '\r');
        match c {
            '\n' if after_cr => false,
            '\n' | '\r' => std::mem::replace(&mut self.after_line_break, true),
            '\u{2029}' => true,
            c if is_white_space(c) => false,
            c => {
                self.after_line_break = false;
                is_sentence_terminal(c)
            }
        }
    }
}

/// Phrases gathered before they are counted together: their slots in the table are
/// fetched first, so that the cache misses overlap (a phrase vocabulary outgrows the
/// caches far sooner than a word vocabulary does).
const BATCH: usize = 16;

/// The last N-1 words of the sequence in progress, and the phrases waiting to be counted.
#[derive(Clone, Debug)]
struct Window {
    n: usize,
    words: VecDeque<Vec<u8>>,
    /// Buffers of words dropped by a break, for the next words.
    spare: Vec<Vec<u8>>,
    /// The phrases of the batch, one after the other, and where each ends.
    keys: Vec<u8>,
    ends: Vec<usize>,
}

impl Window {
    fn new(n: usize) -> Self {
        debug_assert!((2..=MAX_NGRAMS).contains(&n));
        Window {
            n,
            words: VecDeque::with_capacity(n - 1),
            spare: Vec::new(),
            keys: Vec::new(),
            ends: Vec::with_capacity(BATCH),
        }
    }

    /// The next word: counts the n-gram it ends, if the window is full.
    #[inline]
    fn push(&mut self, word: &[u8], tally: &mut Tally) {
        let mut buf = if self.words.len() == self.n - 1 {
            for w in &self.words {
                self.keys.extend_from_slice(w);
                self.keys.push(b' ');
            }
            self.keys.extend_from_slice(word);
            self.ends.push(self.keys.len());
            if self.ends.len() == BATCH {
                self.flush(tally);
            }
            self.words.pop_front().unwrap_or_default()
        } else {
            self.spare.pop().unwrap_or_default()
        };
        buf.clear();
        buf.extend_from_slice(word);
        self.words.push_back(buf);
    }

    /// Count the phrases of the batch.
    fn flush(&mut self, tally: &mut Tally) {
        let mut start = 0;
        for &end in &self.ends {
            tally.touch(&self.keys[start..end]);
            start = end;
        }
        let mut start = 0;
        for &end in &self.ends {
            tally.add(&self.keys[start..end]);
            start = end;
        }
        self.keys.clear();
        self.ends.clear();
    }

    /// The sequence ends: the next word starts a new one.
    #[inline]
    fn clear(&mut self) {
        self.spare.extend(self.words.drain(..));
    }

    /// No word held and no phrase waiting.
    fn is_empty(&self) -> bool {
        self.words.is_empty() && self.ends.is_empty()
    }
}

/// The words of [`WordState`] into the window, the n-grams into the table.
struct Sink<'a> {
    window: &'a mut Window,
    tally: &'a mut Tally,
}

impl WordSink for Sink<'_> {
    #[inline]
    fn word(&mut self, word: &[u8]) {
        self.window.push(word, self.tally);
    }

    #[inline]
    fn skip(&mut self) {
        self.tally.skipped += 1;
        self.window.clear();
    }
}

/// Streaming n-gram tokenizer over a decoding in which ASCII bytes stand for themselves
/// (UTF-16 is transcoded before, as for words). One character at a time: n-grams are
/// counted on one thread, so there is no split point to find.
#[derive(Clone, Debug)]
pub struct NgramWords {
    dec: ByteDecoding,
    state: WordState,
    max: usize,
    breaks: Breaks,
    window: Window,
    /// An unfinished UTF-8 sequence at the end of the last chunk.
    cut: CutChar,
}

impl NgramWords {
    /// Sequences of `n` (2..=[`MAX_NGRAMS`]) words of at most `max_len` code points.
    pub fn new(dec: ByteDecoding, max_len: usize, n: usize) -> Self {
        NgramWords {
            dec,
            state: WordState::new(max_len),
            max: max_len,
            breaks: Breaks::default(),
            window: Window::new(n),
            cut: CutChar::default(),
        }
    }

    /// A scanner of the same settings at the start of a stream.
    pub fn fresh(&self) -> Self {
        Self::new(self.dec, self.max, self.window.n)
    }

    /// Nothing carried: no word, no sequence, no unfinished character.
    pub fn is_clean(&self) -> bool {
        self.state.is_clean() && self.window.is_empty() && self.cut.is_empty()
    }

    #[inline]
    fn push(&mut self, c: char, tally: &mut Tally) {
        let mut sink = Sink {
            window: &mut self.window,
            tally,
        };
        // A break character is never part of a word: the word before it ends first.
        self.state.push_char(c, &mut sink);
        if self.breaks.push(c) {
            self.window.clear();
        }
    }

    /// Count the n-grams of the next chunk of input.
    pub fn feed(&mut self, buf: &[u8], tally: &mut Tally) {
        let mut cut = std::mem::take(&mut self.cut);
        let start = cut.resume(self.dec, buf, |c| self.push(c, tally));
        self.cut = cut;
        let Some(mut i) = start else {
            self.window.flush(tally);
            return;
        };
        while i < buf.len() {
            let b = buf[i];
            if b < 0x80 {
                self.push(char::from(b), tally);
                i += 1;
                continue;
            }
            match decode_byte_char(self.dec, &buf[i..], false) {
                Some((c, len)) => {
                    self.push(c, tally);
                    i += len;
                }
                None => {
                    self.cut.keep(&buf[i..]);
                    break;
                }
            }
        }
        // The table is read only after a feed: nothing may wait past it.
        self.window.flush(tally);
    }

    /// End of input: decode what is pending, count the last n-gram, end the sequence.
    pub fn finish(&mut self, tally: &mut Tally) {
        let mut cut = std::mem::take(&mut self.cut);
        cut.finish(self.dec, |c| self.push(c, tally));
        let mut sink = Sink {
            window: &mut self.window,
            tally,
        };
        self.state.end_word(&mut sink);
        self.window.flush(tally);
        self.window.clear();
        self.breaks = Breaks::default();
    }
}

/// Whether the n-gram `key` is reported: each of its words would be reported on its own
/// (at least `min_length` code points, not a stop word). A dropped stop word thus breaks
/// a sequence rather than being skipped over: an n-gram is kept exactly when its N
/// consecutive words all lie inside one stretch free of stop words.
pub fn reported(key: &str, min_length: usize, is_stopword: impl Fn(&str) -> bool) -> bool {
    key.split(' ')
        .all(|w| (min_length == 0 || w.chars().count() >= min_length) && !is_stopword(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ngrams(n: usize, max: usize, chunks: &[&[u8]]) -> (Vec<(String, u64)>, u64) {
        let mut t = Tally::new();
        let mut s = NgramWords::new(ByteDecoding::Utf8Fallback, max, n);
        for c in chunks {
            s.feed(c, &mut t);
        }
        s.finish(&mut t);
        assert!(s.is_clean());
        let mut v: Vec<_> = t.iter().map(|(w, k)| (w.as_str().to_string(), k)).collect();
        v.sort();
        (v, t.skipped)
    }

    fn expect(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        let mut v: Vec<_> = pairs.iter().map(|&(w, n)| (w.to_string(), n)).collect();
        v.sort();
        v
    }

    #[test]
    fn bigrams_and_trigrams_by_hand() {
        let text = "The cat sat. The cat, the HAT!\n\nCat sat";
        assert_eq!(
            ngrams(2, 100, &[text.as_bytes()]).0,
            expect(&[
                ("the cat", 2),
                ("cat sat", 2),
                ("cat the", 1),
                ("the hat", 1)
            ])
        );
        assert_eq!(
            ngrams(3, 100, &[text.as_bytes()]).0,
            expect(&[("the cat sat", 1), ("the cat the", 1), ("cat the hat", 1)])
        );
    }

    #[test]
    fn what_breaks_a_sequence() {
        let pairs = |s: &str| ngrams(2, 100, &[s.as_bytes()]).0;
        // Sentence ends of other scripts; U+2026 is no sentence end.
        for sep in [
            "。",
            "！",
            "？",
            "।",
            "؟",
            "‼",
            ".",
            "\u{2029}",
            "\n\n",
            "\r\r",
            "\r\n\r\n",
            "\n \t\u{A0}\r\n",
        ] {
            assert_eq!(pairs(&format!("ab{sep}cd")), expect(&[]), "{sep:?}");
        }
        for sep in [
            "…", ",", ";", "\"", " - ", "\n", "\r\n", "\r", "\n.x\n", "3", "' ",
        ] {
            let got = pairs(&format!("ab{sep}cd"));
            assert!(
                got.iter().any(|(k, _)| k.ends_with("cd")),
                "{sep:?}: {got:?}"
            );
        }
        // A run over the limit ends the sequence and is counted as skipped.
        assert_eq!(
            ngrams(2, 3, &[b"ab abcd cd ef"]),
            (expect(&[("cd ef", 1)]), 1)
        );
    }

    #[test]
    fn every_chunking_gives_the_same_counts() {
        let mut text =
            "Don’t stop—the CAFÉ’s ΟΔΟΣ. rock'n'roll\r\n\r\nab\u{0301}c dogs' x\r\ny z!\u{2029}é"
                .as_bytes()
                .to_vec();
        text.extend_from_slice(b" don\x92t \xE2\x80A \xC3");
        let text = &text[..];
        for n in 2..=MAX_NGRAMS {
            for max in [3, 100] {
                let whole = ngrams(n, max, &[text]);
                for a in 0..=text.len() {
                    let b = (a + 3).min(text.len());
                    assert_eq!(
                        ngrams(n, max, &[&text[..a], &text[a..b], &text[b..]]),
                        whole,
                        "{n} {max} {a}"
                    );
                }
            }
        }
    }

    #[test]
    fn memory_is_bounded_by_the_window_not_the_input() {
        let mut t = Tally::new();
        let mut s = NgramWords::new(ByteDecoding::Utf8Fallback, 50, MAX_NGRAMS);
        // A long run in many chunks (skipped, never buffered) between ordinary words.
        s.feed(b"one two three ", &mut t);
        for _ in 0..1000 {
            s.feed(&b"x".repeat(4096), &mut t);
        }
        s.feed(b" four five six seven eight nine ten ", &mut t);
        for i in 0..2000 {
            s.feed(format!("{} ", "w".repeat(1 + i % 50)).as_bytes(), &mut t);
        }
        assert!(s.window.words.len() < MAX_NGRAMS);
        assert!(s.window.spare.len() < MAX_NGRAMS);
        let longest = 12 * 50;
        assert!(s.window.words.iter().all(|w| w.capacity() <= 2 * longest));
        assert!(s.window.keys.capacity() <= 2 * BATCH * MAX_NGRAMS * longest);
        s.finish(&mut t);
        assert_eq!(t.skipped, 1);
    }

    #[test]
    fn the_report_rule_drops_every_ngram_holding_a_dropped_word() {
        let stop = |w: &str| w == "the";
        assert!(reported("big cat", 1, stop));
        assert!(!reported("the cat", 1, stop));
        assert!(!reported("cat the", 1, stop));
        assert!(!reported("a cat", 2, stop));
        assert!(reported("ab cat", 2, stop));
    }

    #[test]
    fn the_sentence_terminal_table_is_sorted_and_ascii_agrees() {
        assert!(SENTENCE_TERMINAL.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(SENTENCE_TERMINAL.iter().all(|&(lo, hi)| lo <= hi));
        for b in 0..0x80u8 {
            let c = char::from(b);
            let in_table = SENTENCE_TERMINAL
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&u32::from(b)));
            assert_eq!(is_sentence_terminal(c), in_table, "{c:?}");
        }
        assert!(is_sentence_terminal('。') && !is_sentence_terminal('…'));
    }
}
