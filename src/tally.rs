//! The word -> count table: adding words, merging tables, and the ranked report.

use hashbrown::HashMap;

/// Words (UTF-8 bytes of the normalised word) and their counts.
pub type WordMap = HashMap<Vec<u8>, u64, foldhash::fast::RandomState>;

/// A word count table plus a scratch buffer for lowercasing ASCII words.
#[derive(Debug, Default)]
pub struct Tally {
    map: WordMap,
    scratch: Vec<u8>,
}

impl Tally {
    pub fn new() -> Self {
        Self::default()
    }

    /// Count one occurrence of `word` (allocates only the first time a word is seen).
    #[inline]
    pub fn add(&mut self, word: &[u8]) {
        *self.map.entry_ref(word).or_insert(0) += 1;
    }

    /// Count an ASCII word after lowercasing its letters (`b | 0x20` is the lowercase of
    /// an ASCII letter and leaves the apostrophe unchanged).
    #[inline]
    pub fn add_ascii_lowercased(&mut self, word: &[u8]) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend(word.iter().map(|&b| b.to_ascii_lowercase()));
        self.add(&scratch);
        self.scratch = scratch;
    }

    /// Add `n` occurrences of `word`.
    pub fn add_n(&mut self, word: &[u8], n: u64) {
        *self.map.entry_ref(word).or_insert(0) += n;
    }

    /// Add every count of `other` into this table.
    pub fn merge_from(&mut self, other: &Tally) {
        self.map
            .reserve(other.map.len().saturating_sub(self.map.len()) / 2);
        for (word, &n) in &other.map {
            self.add_n(word, n);
        }
    }

    /// Move every count of `other` into this table (cheaper than `merge_from`: the larger
    /// table is kept and the smaller one is added into it).
    pub fn absorb(&mut self, mut other: Tally) {
        if other.map.len() > self.map.len() {
            std::mem::swap(&mut self.map, &mut other.map);
        }
        for (word, n) in other.map {
            match self.map.get_mut(&word) {
                Some(count) => *count += n,
                None => {
                    self.map.insert(word, n);
                }
            }
        }
    }

    /// Double every count (merging a counter into itself).
    pub fn double(&mut self) {
        for n in self.map.values_mut() {
            *n = n.saturating_mul(2);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every word with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.map.iter().map(|(w, &n)| (as_str(w), n))
    }

    /// The ranked report over the words that pass the filters: words of at least
    /// `min_length` code points that `is_stopword` rejects. Returns the total count and
    /// the number of distinct such words, and the `top` most frequent (all when `None`)
    /// ordered by count descending, then word ascending by code point.
    pub fn report(
        &self,
        top: Option<usize>,
        min_length: usize,
        is_stopword: impl Fn(&str) -> bool,
    ) -> Report<'_> {
        let mut total: u64 = 0;
        let mut kept: Vec<(&str, u64)> = Vec::new();
        for (word, n) in self.iter() {
            if (min_length == 0 || char_len(word) >= min_length) && !is_stopword(word) {
                total = total.saturating_add(n);
                kept.push((word, n));
            }
        }
        let unique = kept.len() as u64;
        // Count descending, then word ascending: UTF-8 byte order is code point order.
        let order = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if let Some(top) = top {
            if top == 0 {
                kept.clear();
            } else if top < kept.len() {
                kept.select_nth_unstable_by(top - 1, order);
                kept.truncate(top);
            }
        }
        kept.sort_unstable_by(order);
        Report {
            total,
            unique,
            words: kept,
        }
    }
}

/// Result of [`Tally::report`].
#[derive(Debug, PartialEq, Eq)]
pub struct Report<'a> {
    pub total: u64,
    pub unique: u64,
    pub words: Vec<(&'a str, u64)>,
}

/// Keys are built from `char`s and so are always valid UTF-8.
fn as_str(word: &[u8]) -> &str {
    std::str::from_utf8(word).unwrap_or("\u{FFFD}")
}

/// Number of code points of a UTF-8 string.
fn char_len(word: &str) -> usize {
    word.bytes().filter(|&b| (b as i8) >= -0x40).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(words: &[&str]) -> Tally {
        let mut t = Tally::new();
        for w in words {
            t.add(w.as_bytes());
        }
        t
    }

    #[test]
    fn counts_and_merges() {
        let mut a = tally(&["the", "cat", "the"]);
        a.add_ascii_lowercased(b"THE");
        let b = tally(&["cat", "dog"]);
        a.merge_from(&b);
        let mut got: Vec<_> = a.iter().collect();
        got.sort();
        assert_eq!(got, vec![("cat", 2), ("dog", 1), ("the", 3)]);
        let mut c = tally(&["dog", "emu", "emu", "fox"]);
        c.absorb(a);
        let mut got: Vec<_> = c.iter().collect();
        got.sort();
        assert_eq!(
            got,
            vec![("cat", 2), ("dog", 2), ("emu", 2), ("fox", 1), ("the", 3)]
        );
        c.double();
        assert_eq!(c.report(Some(1), 1, |_| false).words, vec![("the", 6)]);
    }

    #[test]
    fn report_orders_and_filters() {
        let t = tally(&["b", "a", "é", "z", "zz", "zz", "ab", "ab", "ab", "", "é"]);
        let r = t.report(None, 0, |_| false);
        assert_eq!(r.total, 11);
        assert_eq!(r.unique, 7);
        assert_eq!(
            r.words,
            vec![
                ("ab", 3),
                ("zz", 2),
                ("é", 2),
                ("", 1),
                ("a", 1),
                ("b", 1),
                ("z", 1)
            ]
        );
        // min_length counts code points: "é" is one.
        let r = t.report(Some(3), 1, |w| w == "zz");
        assert_eq!((r.total, r.unique), (8, 5));
        assert_eq!(r.words, vec![("ab", 3), ("é", 2), ("a", 1)]);
        let r = t.report(Some(0), 2, |_| false);
        assert_eq!((r.total, r.unique, r.words.len()), (5, 2, 0));
        let r = t.report(Some(100), 1, |_| false);
        assert_eq!(r.words.len(), 6);
    }

    #[test]
    fn top_selection_matches_full_sort() {
        let mut t = Tally::new();
        for i in 0..500u64 {
            let w = format!("w{}", i % 37);
            for _ in 0..(i % 7) {
                t.add(w.as_bytes());
            }
        }
        let all = t.report(None, 1, |_| false).words;
        for top in [1, 5, 10, 36, 37, 40] {
            let r = t.report(Some(top), 1, |_| false);
            assert_eq!(r.words, all[..top.min(all.len())].to_vec());
        }
    }
}
