//! Word segmentation of the scripts written without spaces (Han, Hiragana, Katakana,
//! Thai, Lao, Khmer, Myanmar) in `words` mode, by ICU4X's dictionary segmenter.
//!
//! The tokenizer (`words`) still finds runs of letters and marks; a run is cut into
//! parts where it passes between a letter of these scripts ([`is_unspaced`]) and any other
//! letter (a mark continues the part it follows). Only the unspaced parts come here: each
//! is composed to NFC and segmented with Unicode's word-break rules plus ICU's
//! dictionaries (Chinese and Japanese together, Thai, Lao, Khmer, Burmese), and every
//! segment ICU calls word-like, or that holds a letter, is a word. The other parts keep
//! the tokenizer's own rules, untouched.
//!
//! Memory stays bounded: a part is buffered up to [`RUN_BOUND`] code points. When the
//! buffer is full it is composed (it may shrink: then it fills up again); while it still
//! holds the bound or more it is segmented: one segment is over-long (skipped once, with
//! the rest of the part), else all its segments but the last are words and the last stays
//! buffered to be segmented again with what follows. The cuts depend on the code points
//! of the part only, never on how the input was chunked, so a part longer than the bound
//! is cut the same way every time, though maybe not as ICU would cut it whole.
//!
//! Why the dictionary segmenter (`WordSegmenter::new_dictionary`) and not the LSTM models
//! (`new_auto`, `new_lstm`): the models cut common Thai words apart (`สวัส`/`ดี`), it is
//! several times faster, and it needs no model data (the extension is smaller); one rule
//! of ICU4C's Thai engine, which ICU4X lacks, is applied after it ([`segments`]); see
//! README "Every script".

use std::sync::LazyLock;

use icu_segmenter::options::WordBreakInvariantOptions;
use icu_segmenter::{WordSegmenter, WordSegmenterBorrowed};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::chars::{is_alpha, is_mark};

/// Code points of an unspaced part buffered before part of it is segmented (see the module
/// documentation): a few pages of Chinese, far longer than any sentence.
pub const RUN_BOUND: usize = 4096;

/// The blocks of the scripts written without spaces, inclusive. Only their letters and
/// marks matter (the rest never reaches a word). `counting/reference.py` holds its own
/// copy (it is the oracle); `tests/test_segment.py` checks every code point.
static UNSPACED: [(u32, u32); 19] = [
    (0x0E00, 0x0E7F),   // Thai
    (0x0E80, 0x0EFF),   // Lao
    (0x1000, 0x109F),   // Myanmar
    (0x1780, 0x17FF),   // Khmer
    (0x3005, 0x3006),   // ideographic iteration mark, closing mark
    (0x3031, 0x3035),   // vertical kana repeat marks
    (0x303B, 0x303C),   // vertical ideographic iteration mark, masu mark
    (0x3040, 0x30FF),   // Hiragana, Katakana (prolonged sound and iteration marks too)
    (0x31F0, 0x31FF),   // Katakana phonetic extensions
    (0x3400, 0x4DBF),   // CJK unified ideographs extension A
    (0x4E00, 0x9FFF),   // CJK unified ideographs
    (0xA9E0, 0xA9FF),   // Myanmar extended-B
    (0xAA60, 0xAA7F),   // Myanmar extended-A
    (0xF900, 0xFAFF),   // CJK compatibility ideographs
    (0xFF66, 0xFF9F),   // halfwidth Katakana
    (0x1AFF0, 0x1AFFF), // Kana extended-B
    (0x1B000, 0x1B16F), // Kana supplement, extended-A, small Kana extension
    (0x20000, 0x2FFFF), // CJK extensions B to F, compatibility supplement
    (0x30000, 0x3FFFF), // CJK extensions G and H
];

/// True when `c` belongs to a script written without spaces (see [`UNSPACED`]).
#[inline]
pub fn is_unspaced(c: char) -> bool {
    let cp = c as u32;
    if cp < UNSPACED[0].0 {
        return false; // Latin, Greek, Cyrillic, Arabic, Hebrew, Indic: one compare
    }
    match UNSPACED.binary_search_by_key(&cp, |&(lo, _)| lo) {
        Ok(_) => true,
        Err(i) => i > 0 && cp <= UNSPACED[i - 1].1,
    }
}

static SEGMENTER: LazyLock<WordSegmenterBorrowed<'static>> =
    LazyLock::new(|| WordSegmenter::new_dictionary(WordBreakInvariantOptions::default()));

/// Thai characters no word begins with: the vowels written after or over a consonant,
/// LAKKHANGYAO and the tone and other marks (ICU4C's Thai engine begins a word only with
/// a consonant or a leading vowel). PAIYANNOI `ฯ` and MAIYAMOK `ๆ` are left out: ICU
/// cuts them off as signs of their own, which loses no letter.
#[inline]
fn cannot_begin_thai_word(c: char) -> bool {
    matches!(c, '\u{0E30}'..='\u{0E3A}' | '\u{0E45}' | '\u{0E47}'..='\u{0E4E}')
}

#[inline]
fn is_thai(c: char) -> bool {
    ('\u{0E01}'..='\u{0E5B}').contains(&c)
}

/// Repairs of Thai cuts (below) at most in one call: each segments the rest of `text`
/// again, so hostile text (a bounded part full of them) costs at most this many times.
const MAX_THAI_REPAIRS: usize = 16;

/// Call `f` with each segment of `text` (they cover it, in order) and whether ICU calls it
/// word-like (letters, ideographs, kana; not spaces, punctuation or lone marks).
///
/// ICU4X's dictionary segmenter lacks the repair rules of ICU4C's Thai engine, and cuts
/// common words before a vowel no word begins with (`ดีมาก` as `ดีม`/`า`/`ก`). One rule
/// of that engine is applied here: at such a cut the consonant ending the segment before
/// goes back to what follows, which is segmented anew (`ดี`/`มาก`); a one-character
/// segment before the cut joins the segment after it instead.
pub fn segments(text: &str, mut f: impl FnMut(&str, bool)) {
    let mut from = 0;
    let mut repairs = 0;
    'text: while from < text.len() {
        let rest = &text[from..];
        let mut it = SEGMENTER.segment_str(rest);
        let mut start = 0;
        // The segment before, held until the next one shows its cut is sound.
        let mut held: Option<(usize, usize, bool)> = None;
        while let Some(end) = it.next() {
            if end == start {
                continue;
            }
            let word_like = it.is_word_like();
            if let Some((at, to, held_word_like)) = held {
                let before = &rest[at..to];
                let unsound = repairs < MAX_THAI_REPAIRS
                    && rest[start..end].starts_with(cannot_begin_thai_word)
                    && before.ends_with(is_thai);
                if unsound {
                    match before.char_indices().last() {
                        Some((last, _)) if last > 0 => {
                            repairs += 1;
                            f(&before[..last], held_word_like);
                            from += at + last;
                            continue 'text;
                        }
                        _ => {
                            held = Some((at, end, held_word_like || word_like));
                            start = end;
                            continue;
                        }
                    }
                }
                f(before, held_word_like);
            }
            held = Some((start, end, word_like));
            start = end;
        }
        if let Some((at, to, held_word_like)) = held {
            f(&rest[at..to], held_word_like);
        }
        break;
    }
}

/// A segment that counts as a word: ICU calls it word-like, or it holds a letter (ICU calls
/// a lone `〆`, `ﾞ` or `ﾟ` not word-like, yet they are letters of a word; what it drops is
/// a segment of marks only).
#[inline]
pub fn is_word(segment: &str, word_like: bool) -> bool {
    word_like || segment.chars().any(|c| is_alpha(c) && !is_mark(c))
}

/// What an unspaced part gives: a word (composed to NFC, as in the segmented text) or a
/// segment that filled the buffer, skipped with the rest of its part.
pub enum Piece<'a> {
    Word(&'a str),
    Skip,
}

/// An unspaced part in progress, buffered up to [`RUN_BOUND`] code points.
#[derive(Clone, Debug, Default)]
pub struct UnspacedRun {
    buf: String,
    /// Code points in `buf`.
    len: usize,
    /// Segments of `buf` at a cut: (end, word).
    ends: Vec<(usize, bool)>,
    /// A segment filled the buffer: the rest of the part is skipped with it.
    skipping: bool,
    composed: String,
}

impl UnspacedRun {
    /// Nothing buffered.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0 && !self.skipping
    }

    /// Add `c` to the part; `out` gets each piece found at a cut.
    #[inline]
    pub fn push(&mut self, c: char, out: &mut impl FnMut(Piece)) {
        if self.skipping {
            return;
        }
        self.buf.push(c);
        self.len += 1;
        if self.len >= RUN_BOUND {
            self.compose();
            self.cut_to_bound(out);
        }
    }

    /// Compose the buffer to NFC: ICU segments decomposed text into other words, and drops
    /// the marks it splits off (NFD が is か + U+3099). Composing a composed prefix again with
    /// what follows gives what composing it all at once would (canonical equivalence).
    fn compose(&mut self) {
        if is_nfc_quick(self.buf.chars()) != IsNormalized::Yes {
            self.composed.clear();
            self.composed.extend(self.buf.nfc());
            std::mem::swap(&mut self.buf, &mut self.composed);
            self.len = self.buf.chars().count();
        }
    }

    /// While the (composed) buffer holds [`RUN_BOUND`] code points or more: one segment is
    /// over-long (one skip, the rest of the part skipped with it); else every segment but
    /// the last is final and the last stays buffered.
    fn cut_to_bound(&mut self, out: &mut impl FnMut(Piece)) {
        while !self.skipping && self.len >= RUN_BOUND {
            self.ends.clear();
            let ends = &mut self.ends;
            let mut at = 0;
            segments(&self.buf, |s, word_like| {
                at += s.len();
                ends.push((at, is_word(s, word_like)));
            });
            let n = self.ends.len();
            if n <= 1 {
                out(Piece::Skip);
                self.skipping = true;
                self.buf.clear();
                self.len = 0;
                return;
            }
            let keep_from = self.ends[n - 2].0;
            let mut start = 0;
            for &(end, word) in &self.ends[..n - 1] {
                if word {
                    out(Piece::Word(&self.buf[start..end]));
                }
                start = end;
            }
            self.buf.drain(..keep_from);
            self.len = self.buf.chars().count();
        }
    }

    /// The part has ended: `out` gets each of its pieces.
    pub fn finish(&mut self, out: &mut impl FnMut(Piece)) {
        if !self.skipping {
            self.compose();
            self.cut_to_bound(out);
        }
        if !self.skipping {
            segments(&self.buf, |s, word_like| {
                if is_word(s, word_like) {
                    out(Piece::Word(s));
                }
            });
        }
        self.buf.clear();
        self.len = 0;
        self.skipping = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        segments(text, |s, word_like| {
            if word_like {
                out.push(s.to_string());
            }
        });
        out
    }

    /// The words of one part, `None` for a skip.
    fn run_words(text: &str) -> Vec<Option<String>> {
        let mut out = Vec::new();
        let mut run = UnspacedRun::default();
        let mut take = |p: Piece| {
            out.push(match p {
                Piece::Word(w) => Some(w.to_string()),
                Piece::Skip => None,
            })
        };
        for c in text.chars() {
            run.push(c, &mut take);
        }
        run.finish(&mut take);
        out
    }

    #[test]
    fn scripts_written_without_spaces() {
        for c in [
            '中', '々', 'ひ', 'カ', 'ー', 'ｶ', 'ก', 'ั', 'ລ', 'က', 'ក', '𠀀', '〆',
        ] {
            assert!(is_unspaced(c), "{c:?}");
        }
        for c in ['a', 'é', 'Ж', 'α', 'א', 'ب', 'क', '한', 'ㄅ', '\u{0301}'] {
            assert!(!is_unspaced(c), "{c:?}");
        }
        let mut sorted = UNSPACED.to_vec();
        sorted.sort();
        assert_eq!(sorted, UNSPACED.to_vec());
        assert!(UNSPACED.windows(2).all(|w| w[0].1 < w[1].0));
    }

    #[test]
    fn segments_cover_the_text() {
        let text = "我爱北京天安门。 私は東京に住んでいます ภาษาไทยง่ายนิดเดียว";
        let mut all = String::new();
        segments(text, |s, _| all.push_str(s));
        assert_eq!(all, text);
    }

    #[test]
    fn known_segmentations() {
        // ICU4X's own test data (components/segmenter/tests/testdata/WordBreakDictionary.txt).
        assert_eq!(words_of("うなぎうなじ"), ["うなぎ", "うなじ"]);
        assert_eq!(words_of("龟山岛龟山岛"), ["龟山岛", "龟山岛"]);
        assert_eq!(words_of("ภาษาไทยภาษาไทย"), ["ภาษา", "ไทย", "ภาษา", "ไทย"]);
        assert_eq!(words_of("สวัสดีครับ"), ["สวัสดี", "ครับ"]);
    }

    #[test]
    fn a_short_run_is_segmented_whole() {
        let text = "我爱北京天安门";
        let words: Vec<_> = words_of(text).into_iter().map(Some).collect();
        assert_eq!(run_words(text), words);
    }

    #[test]
    fn a_long_run_is_cut_at_the_bound_and_stays_bounded() {
        let sentence = "小明硕士毕业于中国科学院计算所后在日本京都大学深造";
        let text = sentence.repeat(1000);
        let words: Vec<String> = run_words(&text).into_iter().map(Option::unwrap).collect();
        // Nothing lost: the words cover the text (every segment here is word-like).
        assert_eq!(words.concat(), text);
        // The words are the sentence's own, at the bounds too: the segment a bound cuts
        // into is segmented again with what follows.
        let whole = words_of(sentence);
        assert_eq!(words[..whole.len()], whole[..]);
        for w in &words {
            assert!(whole.contains(w), "{w} is not a word of {whole:?}");
        }
        let mut run = UnspacedRun::default();
        let mut n = 0;
        for c in text.chars() {
            run.push(c, &mut |_| n += 1);
            assert!(run.len < RUN_BOUND);
        }
        assert!(n > 0);
    }

    #[test]
    fn a_segment_that_fills_the_bound_is_skipped_with_the_rest_of_its_part() {
        let text = format!("東京{}", "ー".repeat(RUN_BOUND * 3));
        assert_eq!(run_words(&text), [Some("東京".to_string()), None]);
        // The run is reusable once the part has ended.
        let text = "ー".repeat(RUN_BOUND - 1);
        assert_eq!(run_words(&text), [Some(text.clone())]);
    }

    #[test]
    fn decomposed_text_is_segmented_composed() {
        let nfc = "ポケモンが大好きです";
        let nfd: String = nfc.nfd().collect();
        assert_ne!(nfd, nfc);
        let words: Vec<_> = words_of(nfc).into_iter().map(Some).collect();
        assert_eq!(run_words(&nfd), words);
    }
}

#[cfg(test)]
mod tokenizer_tests {
    use crate::decode::ByteDecoding;
    use crate::tally::Tally;
    use crate::words::ByteWords;

    fn count(max: usize, chunks: &[&[u8]]) -> (Vec<(String, u64)>, u64) {
        let mut t = Tally::new();
        let mut w = ByteWords::new(ByteDecoding::Utf8Fallback, max);
        for c in chunks {
            w.feed(c, &mut t);
        }
        w.finish(&mut t);
        let mut v: Vec<_> = t.iter().map(|(w, n)| (w.as_str().to_string(), n)).collect();
        v.sort();
        (v, t.skipped)
    }

    fn expect(words: &[&str]) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = Vec::new();
        for w in words {
            match v.iter_mut().find(|(x, _)| x == w) {
                Some(e) => e.1 += 1,
                None => v.push((w.to_string(), 1)),
            }
        }
        v.sort();
        v
    }

    #[test]
    fn a_run_is_cut_between_scripts_and_its_unspaced_parts_segmented() {
        let text = "iPhone用 Welcome龟山岛龟山岛Welcome 私はガラスを食べられます aภาษาไทยb";
        assert_eq!(
            count(1000, &[text.as_bytes()]).0,
            expect(&[
                "iphone",
                "用",
                "welcome",
                "龟山岛",
                "龟山岛",
                "welcome",
                "私",
                "は",
                "ガラス",
                "を",
                "食",
                "べら",
                "れま",
                "す",
                "a",
                "ภาษา",
                "ไทย",
                "b"
            ])
        );
    }

    #[test]
    fn apostrophes_join_spaced_letters_only() {
        assert_eq!(
            count(1000, &["don't 日'本 a'ก ก'a l’été".as_bytes()]).0,
            expect(&["don't", "日", "本", "a", "ก", "ก", "a", "l'été"])
        );
    }

    #[test]
    fn a_mark_continues_the_part_it_follows() {
        // A Thai vowel sign after a Latin letter stays in the Latin word; a Latin acute
        // after Thai stays in the Thai part, for ICU to segment.
        // ICU4X's dictionary segmenter cuts a combining mark that is not of the script
        // off the letter before it and calls it not word-like, so it is dropped; a part is
        // composed first, so NFD がく (か + U+3099 + く) is がく, as NFC がく is.
        assert_eq!(
            count(1000, &["a\u{0E31}b ไทย\u{0301}".as_bytes()]).0,
            expect(&["a\u{0E31}b", "ไทย"])
        );
        assert_eq!(
            count(1000, &["か\u{3099}く".as_bytes()]).0,
            expect(&["がく"])
        );
    }

    #[test]
    fn the_limit_applies_to_each_segmented_word() {
        assert_eq!(
            count(2, &["中华人民共和国".as_bytes()]),
            (expect(&["中华", "人民"]), 1)
        );
    }

    #[test]
    fn every_split_gives_the_same_words() {
        let text = "我爱北京天安门 iPhone用 ภาษาไทยง่ายนิดเดียว 東京都に住んでいます".as_bytes();
        let whole = count(1000, &[text]);
        for a in 0..text.len() {
            assert_eq!(count(1000, &[&text[..a], &text[a..]]), whole, "cut {a}");
        }
        let bytewise: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(count(1000, &bytewise), whole);
    }

    #[test]
    fn a_run_past_the_bound_is_cut_the_same_way_whatever_the_chunks() {
        let text = "小明硕士毕业于中国科学院计算所后在日本京都大学深造".repeat(500);
        let text = text.as_bytes();
        let whole = count(1000, &[text]);
        for size in [1, 7, 4096, 10_000] {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(count(1000, &chunks), whole, "chunks of {size}");
        }
    }
}
