//! The word -> count table: adding words, merging tables, and the ranked report.
//!
//! Most words are short, so words of at most 15 bytes are kept inline, packed into
//! `u64`s (little-endian bytes, zero-padded, the length in the last byte) in two
//! open-addressing tables, one for words of 1-7 bytes (one `u64` key) and one for words
//! of 8-15 bytes (two): hashing is one folded multiply, comparing is one or two integer
//! compares, a lookup usually touches one cache line, and an ASCII word is packed and
//! lowercased straight from the input without copying. Longer words live in an ordinary
//! map.
//!
//! The table is the only thing in the core that grows with the input (with its
//! vocabulary), so it never aborts the process when memory runs out: growth is fallible,
//! a failure is remembered ([`Tally::out_of_memory`]) and the counter reports it.

use std::collections::hash_map::RandomState as StdRandomState;
use std::hash::BuildHasher;
use std::io::Write;

use hashbrown::HashMap;

/// Longest word kept inline.
const SHORT_MAX: usize = 15;
const LOW_BITS: u64 = 0x2020_2020_2020_2020;

/// Mask of the length byte of a packed key.
const LEN_BYTE: u64 = 0xFF << 56;

#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A packed key of an open-addressing table; the all-zero key marks an empty slot (a
/// real key is never zero: its length byte is not).
trait Key: Copy + Eq {
    const EMPTY: Self;
    fn hash(self, seeds: [u64; 2]) -> u64;
}

impl Key for u64 {
    const EMPTY: Self = 0;
    #[inline]
    fn hash(self, seeds: [u64; 2]) -> u64 {
        folded_multiply(self ^ seeds[0], seeds[1])
    }
}

impl Key for [u64; 2] {
    const EMPTY: Self = [0, 0];
    #[inline]
    fn hash(self, seeds: [u64; 2]) -> u64 {
        folded_multiply(self[0] ^ seeds[0], self[1] ^ seeds[1])
    }
}

/// Open addressing with linear probing, at most half full.
#[derive(Debug)]
struct Probe<K> {
    slots: Vec<(K, u64)>,
    len: usize,
    seeds: [u64; 2],
    /// Growing failed for lack of memory: the counts are incomplete from then on.
    failed: bool,
}

impl<K: Key> Probe<K> {
    fn new(seeds: [u64; 2]) -> Self {
        Probe {
            slots: vec![(K::EMPTY, 0); 64],
            len: 0,
            seeds,
            failed: false,
        }
    }

    #[inline]
    fn add(&mut self, key: K, n: u64) {
        let mask = self.slots.len() - 1;
        let mut i = (key.hash(self.seeds) as usize) & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot.0 == key {
                // Saturating: a merged counts CSV may hold any count.
                slot.1 = slot.1.saturating_add(n);
                return;
            }
            if slot.0 == K::EMPTY {
                if self.failed {
                    // The table could not grow: drop new words rather than fill it up
                    // (probing a full table never ends); the counter reports the failure
                    // instead of these counts.
                    return;
                }
                *slot = (key, n);
                self.len += 1;
                if self.len * 2 > self.slots.len() {
                    self.grow();
                }
                return;
            }
            i = (i + 1) & mask;
        }
    }

    #[cold]
    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let mut slots = Vec::new();
        if slots.try_reserve_exact(size).is_err() {
            self.failed = true;
            return;
        }
        slots.resize(size, (K::EMPTY, 0));
        let old = std::mem::replace(&mut self.slots, slots);
        let mask = self.slots.len() - 1;
        for (key, n) in old.into_iter().filter(|&(k, _)| k != K::EMPTY) {
            let mut i = (key.hash(self.seeds) as usize) & mask;
            while self.slots[i].0 != K::EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = (key, n);
        }
    }

    /// Ask for the first slot `key` would probe to be brought into the cache. A prefetch,
    /// not a load: the loop asking for a batch's slots does not wait for any of them.
    #[inline]
    fn touch(&self, key: K) {
        let mask = self.slots.len() - 1;
        let slot = &self.slots[(key.hash(self.seeds) as usize) & mask];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is only a hint; it reads nothing and cannot fault, and the
        // address is that of a slot of the table.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(slot).cast::<i8>());
        }
        #[cfg(not(target_arch = "x86_64"))]
        std::hint::black_box(slot.1);
    }

    fn iter(&self) -> impl Iterator<Item = (K, u64)> + '_ {
        self.slots.iter().copied().filter(|&(k, _)| k != K::EMPTY)
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut u64> {
        self.slots
            .iter_mut()
            .filter(|(k, _)| *k != K::EMPTY)
            .map(|(_, n)| n)
    }
}

/// Mask of the low `n` bytes (`n` <= 8).
#[inline]
fn byte_mask(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

#[inline]
fn load8(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// `buf[start..start + len]` (len <= 15) as two zero-padded little-endian words, without
/// the length byte.
#[inline]
fn pack_in(buf: &[u8], start: usize, len: usize) -> (u64, u64) {
    if start + 16 <= buf.len() {
        let a = load8(buf, start);
        let b = load8(buf, start + 8);
        if len >= 8 {
            (a, b & byte_mask(len - 8))
        } else {
            (a & byte_mask(len), 0)
        }
    } else {
        let mut t = [0u8; 16];
        t[..len].copy_from_slice(&buf[start..start + len]);
        (load8(&t, 0), load8(&t, 8))
    }
}

/// ASCII lowercase of eight packed ASCII bytes (SWAR).
#[inline]
fn ascii_lower8(x: u64) -> u64 {
    const H: u64 = 0x8080_8080_8080_8080;
    let ge_a = x.wrapping_add(0x3F3F_3F3F_3F3F_3F3F); // byte >= b'A' sets bit 7
    let gt_z = x.wrapping_add(0x2525_2525_2525_2525); // byte > b'Z' sets bit 7
    x | (((ge_a & !gt_z) & H) >> 2)
}

/// A word of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word<'a> {
    /// Inline: the bytes then zeros, the length in the last byte.
    Short([u8; 16]),
    Long(&'a [u8]),
}

impl Word<'_> {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Word::Short(b) => &b[..usize::from(b[15]).min(SHORT_MAX)],
            Word::Long(s) => s,
        }
    }

    /// Words are built from `char`s and so are always valid UTF-8.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("\u{FFFD}")
    }
}

/// Memory ran out while the table grew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

/// A word count table.
#[derive(Debug)]
pub struct Tally {
    /// Words of 1-7 bytes: bytes and length byte in one `u64`.
    tiny: Probe<u64>,
    /// Words of 8-15 bytes.
    short: Probe<[u64; 2]>,
    /// Count of the empty word (seed mode counts it).
    empty: u64,
    long: HashMap<Vec<u8>, u64, foldhash::fast::RandomState>,
    long_failed: bool,
    scratch: Vec<u8>,
    /// Runs longer than the word-length limit, not counted as words.
    pub skipped: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

impl Tally {
    pub fn new() -> Self {
        let random = StdRandomState::new();
        let seeds = [random.hash_one(1u64) | 1, random.hash_one(2u64) | 1];
        Tally {
            tiny: Probe::new(seeds),
            short: Probe::new(seeds),
            empty: 0,
            long: HashMap::default(),
            long_failed: false,
            scratch: Vec::new(),
            skipped: 0,
        }
    }

    /// Add `n` to the packed short word `(k0, k1)` (k1 holds the length byte).
    #[inline]
    fn add_short(&mut self, k0: u64, k1: u64, n: u64) {
        if k1 >= 8 << 56 {
            self.short.add([k0, k1], n);
        } else if k1 != 0 {
            self.tiny.add(k0 | k1, n);
        } else {
            self.empty = self.empty.saturating_add(n);
        }
    }

    /// Count `n` occurrences of `word`.
    #[inline]
    pub fn add_n(&mut self, word: &[u8], n: u64) {
        let len = word.len();
        if len <= SHORT_MAX {
            let (k0, k1) = pack_in(word, 0, len);
            self.add_short(k0, k1 | ((len as u64) << 56), n);
        } else {
            self.add_long(word, n);
        }
    }

    fn add_long(&mut self, word: &[u8], n: u64) {
        if let Some(count) = self.long.get_mut(word) {
            *count = count.saturating_add(n);
            return;
        }
        // A new word: both the map's room and the key (up to the word-length limit, 64 KiB
        // in seed mode) are reserved fallibly, so running out of memory is reported, never
        // an abort.
        if self.long_failed || self.long.try_reserve(1).is_err() {
            self.long_failed = true;
            return;
        }
        let mut key = Vec::new();
        if key.try_reserve_exact(word.len()).is_err() {
            self.long_failed = true;
            return;
        }
        key.extend_from_slice(word);
        self.long.insert(key, n);
    }

    /// Growing the table failed at some point: its counts are incomplete.
    pub fn out_of_memory(&self) -> bool {
        self.tiny.failed || self.short.failed || self.long_failed
    }

    /// Count one occurrence of `word` (allocates only for a new word longer than 15 bytes).
    #[inline]
    pub fn add(&mut self, word: &[u8]) {
        self.add_n(word, 1);
    }

    /// Count an ASCII word after lowercasing its letters.
    pub fn add_lowered(&mut self, word: &[u8]) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend(word.iter().map(u8::to_ascii_lowercase));
        self.add(&scratch);
        self.scratch = scratch;
    }

    /// Ask for the slot `word` would be counted in to be brought into the cache, so that
    /// the misses of a batch of words about to be added overlap (short words only; the
    /// n-gram window batches its phrases so).
    #[inline]
    pub fn touch(&self, word: &[u8]) {
        let len = word.len();
        if len == 0 || len > SHORT_MAX {
            return;
        }
        let (k0, k1) = pack_in(word, 0, len);
        let k1 = k1 | ((len as u64) << 56);
        if k1 >= 8 << 56 {
            self.short.touch([k0, k1]);
        } else {
            self.tiny.touch(k0 | k1);
        }
    }

    /// Count each packed short word of `keys` once. All their slots are fetched first,
    /// so that the cache misses of a batch overlap instead of coming one after the other.
    fn add_packed(&mut self, keys: &[(u64, u64)]) {
        for &(k0, k1) in keys {
            if k1 >= 8 << 56 {
                self.short.touch([k0, k1]);
            } else {
                self.tiny.touch(k0 | k1);
            }
        }
        for &(k0, k1) in keys {
            self.add_short(k0, k1, 1);
        }
    }

    /// Add every count of `other` into this table (the counts are incomplete if memory
    /// runs out, see [`Tally::out_of_memory`]).
    pub fn merge_from(&mut self, other: &Tally) {
        for (k, n) in other.tiny.iter() {
            self.tiny.add(k, n);
        }
        for (k, n) in other.short.iter() {
            self.short.add(k, n);
        }
        if other.empty > 0 {
            self.empty = self.empty.saturating_add(other.empty);
        }
        for (word, &n) in &other.long {
            self.add_n(word, n);
        }
        self.skipped = self.skipped.saturating_add(other.skipped);
        self.long_failed |= other.out_of_memory();
    }

    /// Move every count of `other` into this table (the larger table is kept).
    pub fn absorb(&mut self, mut other: Tally) {
        if other.len() > self.len() {
            std::mem::swap(self, &mut other);
        }
        self.merge_from(&other);
    }

    /// Double every count (merging a counter into itself).
    pub fn double(&mut self) {
        for n in self.tiny.values_mut().chain(self.short.values_mut()) {
            *n = n.saturating_mul(2);
        }
        self.empty = self.empty.saturating_mul(2);
        for n in self.long.values_mut() {
            *n = n.saturating_mul(2);
        }
        self.skipped = self.skipped.saturating_mul(2);
    }

    /// Number of distinct words.
    pub fn len(&self) -> usize {
        self.tiny.len + self.short.len + usize::from(self.empty > 0) + self.long.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every word with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Word<'_>, u64)> {
        let unpack = |k0: u64, k1: u64| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&k0.to_le_bytes());
            b[8..].copy_from_slice(&k1.to_le_bytes());
            Word::Short(b)
        };
        let tiny = self
            .tiny
            .iter()
            .map(move |(k, n)| (unpack(k & !LEN_BYTE, k & LEN_BYTE), n));
        let short = self
            .short
            .iter()
            .map(move |([k0, k1], n)| (unpack(k0, k1), n));
        let empty = (self.empty > 0).then_some((Word::Short([0; 16]), self.empty));
        let long = self.long.iter().map(|(w, &n)| (Word::Long(w), n));
        tiny.chain(short).chain(empty).chain(long)
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
    ) -> Result<Report<'_>, OutOfMemory> {
        let mut total: u64 = 0;
        let mut kept: Vec<(Word<'_>, u64)> = Vec::new();
        // As large as the vocabulary: the one other allocation that grows with it.
        kept.try_reserve_exact(self.len())
            .map_err(|_| OutOfMemory)?;
        for (word, n) in self.iter() {
            let s = word.as_str();
            if (min_length == 0 || char_len(s) >= min_length) && !is_stopword(s) {
                total = total.saturating_add(n);
                kept.push((word, n));
            }
        }
        let unique = kept.len() as u64;
        // Count descending, then word ascending: UTF-8 byte order is code point order.
        let order = |a: &(Word<'_>, u64), b: &(Word<'_>, u64)| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
        };
        if let Some(top) = top {
            if top == 0 {
                kept.clear();
            } else if top < kept.len() {
                kept.select_nth_unstable_by(top - 1, order);
                kept.truncate(top);
            }
        }
        kept.sort_unstable_by(order);
        Ok(Report {
            total,
            unique,
            words: kept,
        })
    }
}

const BATCH: usize = 32;

/// Short ASCII words packed straight from the input, waiting to be counted together
/// (see [`Tally::add_packed`]). Call [`Batch::flush`] before the tally is read.
#[derive(Clone, Debug)]
pub struct Batch {
    keys: [(u64, u64); BATCH],
    len: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            keys: [(0, 0); BATCH],
            len: 0,
        }
    }
}

impl Batch {
    #[inline]
    fn push(&mut self, k0: u64, k1: u64, tally: &mut Tally) {
        self.keys[self.len] = (k0, k1);
        self.len += 1;
        if self.len == BATCH {
            self.flush(tally);
        }
    }

    /// Count `buf[start..end]`, a run of ASCII letters and apostrophes, lowercased
    /// (`b | 0x20` lowercases an ASCII letter and leaves the apostrophe alone).
    #[inline]
    pub fn push_ascii_word(&mut self, buf: &[u8], start: usize, end: usize, tally: &mut Tally) {
        let len = end - start;
        if len <= SHORT_MAX {
            let (k0, k1) = pack_in(buf, start, len);
            let k0 = k0 | (LOW_BITS & byte_mask(len));
            let k1 = k1 | (LOW_BITS & byte_mask(len.saturating_sub(8)));
            self.push(k0, k1 | ((len as u64) << 56), tally);
        } else {
            tally.add_lowered(&buf[start..end]);
        }
    }

    /// Count the ASCII letters in the low `len` bytes of `w` (1 <= len <= 7), lowercased.
    #[inline]
    pub fn push_tiny_ascii_word(&mut self, w: u64, len: usize, tally: &mut Tally) {
        let k0 = (w | LOW_BITS) & byte_mask(len);
        self.push(k0, (len as u64) << 56, tally);
    }

    /// Count the 8 ASCII letters of `w` and the ASCII letters in the low `len2` bytes of
    /// `w2` (len2 < 8), lowercased: a word of 8 to 15 letters.
    #[inline]
    pub fn push_short_ascii_word(&mut self, w: u64, w2: u64, len2: usize, tally: &mut Tally) {
        let k1 = (w2 | LOW_BITS) & byte_mask(len2);
        self.push(w | LOW_BITS, k1 | ((8 + len2 as u64) << 56), tally);
    }

    /// Count `buf[start..end]`, ASCII bytes, with ASCII letters lowercased.
    #[inline]
    pub fn push_ascii_token(&mut self, buf: &[u8], start: usize, end: usize, tally: &mut Tally) {
        let len = end - start;
        if len <= SHORT_MAX {
            let (k0, k1) = pack_in(buf, start, len);
            let (k0, k1) = (ascii_lower8(k0), ascii_lower8(k1));
            self.push(k0, k1 | ((len as u64) << 56), tally);
        } else {
            tally.add_lowered(&buf[start..end]);
        }
    }

    /// Count the words waiting.
    pub fn flush(&mut self, tally: &mut Tally) {
        tally.add_packed(&self.keys[..self.len]);
        self.len = 0;
    }
}

/// Result of [`Tally::report`].
#[derive(Debug, PartialEq, Eq)]
pub struct Report<'a> {
    pub total: u64,
    pub unique: u64,
    pub words: Vec<(Word<'a>, u64)>,
}

/// Append `rows` to `out` as CSV lines `word,count\n` until `out` holds at least `limit`
/// bytes or the rows run out; returns whether rows are left. A word is quoted exactly when
/// Python's `csv.writer` (minimal quoting, `lineterminator="\n"`) would quote it: when it
/// holds a comma, a double quote, `\n` or `\r`; quotes inside are doubled.
pub fn write_csv_rows<'a, 'w: 'a>(
    rows: &mut impl Iterator<Item = &'a (Word<'w>, u64)>,
    out: &mut Vec<u8>,
    limit: usize,
) -> bool {
    while out.len() < limit {
        let Some((word, n)) = rows.next() else {
            return false;
        };
        write_csv_field(word.as_bytes(), out);
        out.push(b',');
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{n}");
        out.push(b'\n');
    }
    true
}

/// One CSV field as Python's `csv.writer` writes it with minimal quoting.
fn write_csv_field(word: &[u8], out: &mut Vec<u8>) {
    let needs_quotes = word
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !needs_quotes {
        out.extend_from_slice(word);
        return;
    }
    out.push(b'"');
    for part in word.split_inclusive(|&b| b == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
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

    fn sorted(t: &Tally) -> Vec<(String, u64)> {
        let mut v: Vec<_> = t.iter().map(|(w, n)| (w.as_str().to_string(), n)).collect();
        v.sort();
        v
    }

    fn owned(r: &Report<'_>) -> Vec<(String, u64)> {
        r.words
            .iter()
            .map(|(w, n)| (w.as_str().to_string(), *n))
            .collect()
    }

    fn pairs(p: &[(&str, u64)]) -> Vec<(String, u64)> {
        p.iter().map(|&(w, n)| (w.to_string(), n)).collect()
    }

    #[test]
    fn counts_and_merges() {
        let mut a = tally(&[
            "the",
            "cat",
            "the",
            "a-very-long-word-indeed",
            "a-very-long-word-indeed",
        ]);
        a.add_lowered(b"THE");
        let b = tally(&["cat", "dog", "a-very-long-word-indeed"]);
        a.merge_from(&b);
        assert_eq!(
            sorted(&a),
            pairs(&[
                ("a-very-long-word-indeed", 3),
                ("cat", 2),
                ("dog", 1),
                ("the", 3)
            ])
        );
        let mut c = tally(&["dog", "emu", "emu", "fox"]);
        c.absorb(a);
        assert_eq!(
            sorted(&c),
            pairs(&[
                ("a-very-long-word-indeed", 3),
                ("cat", 2),
                ("dog", 2),
                ("emu", 2),
                ("fox", 1),
                ("the", 3)
            ])
        );
        c.double();
        assert_eq!(
            owned(&c.report(Some(2), 1, |_| false).unwrap()),
            pairs(&[("a-very-long-word-indeed", 6), ("the", 6)])
        );
        assert_eq!(c.len(), 6);
    }

    #[test]
    fn short_keys_keep_length_and_nul_bytes_apart() {
        let t = tally(&[
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "fifteen-bytes!!",
            "sixteen-bytes!!!",
            "ab",
        ]);
        assert_eq!(t.len(), 8);
        let mut got: Vec<Vec<u8>> = t.iter().map(|(w, _)| w.as_bytes().to_vec()).collect();
        got.sort();
        let mut want: Vec<Vec<u8>> = [
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "fifteen-bytes!!",
            "sixteen-bytes!!!",
            "ab",
        ]
        .iter()
        .map(|w| w.as_bytes().to_vec())
        .collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn packing_from_the_input() {
        let buf = b"xx Don't STOPPING abcdefghijklmnopqrstuvwxyz Q";
        let mut t = Tally::new();
        let mut b = Batch::default();
        b.push_ascii_word(buf, 3, 8, &mut t); // Don't
        b.push_ascii_word(buf, 9, 17, &mut t); // STOPPING
        b.push_ascii_word(buf, 18, 44, &mut t); // the alphabet (long)
        b.push_ascii_word(buf, 45, 46, &mut t); // Q, near the end of the buffer
        b.push_ascii_token(b"Hello, World! 123-ABC", 0, 21, &mut t);
        b.push_ascii_token(b"@AZ[`az{", 0, 8, &mut t);
        b.flush(&mut t);
        assert_eq!(
            sorted(&t),
            pairs(&[
                ("@az[`az{", 1),
                ("abcdefghijklmnopqrstuvwxyz", 1),
                ("don't", 1),
                ("hello, world! 123-abc", 1),
                ("q", 1),
                ("stopping", 1)
            ])
        );
        for w in ["Mixed-Case 09", "@[`{", "ZZZZZZZZ", "a"] {
            let mut t = Tally::new();
            let mut b = Batch::default();
            b.push_ascii_token(w.as_bytes(), 0, w.len(), &mut t);
            b.flush(&mut t);
            assert_eq!(sorted(&t), pairs(&[(w.to_ascii_lowercase().as_str(), 1)]));
        }
    }

    #[test]
    fn batches_count_everything() {
        let text = b"a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg";
        let mut t = Tally::new();
        let mut b = Batch::default();
        let mut words = 0;
        for _ in 0..100 {
            let mut start = 0;
            for end in (0..=text.len()).filter(|&k| k == text.len() || text[k] == b' ') {
                b.push_ascii_word(text, start, end, &mut t);
                start = end + 1;
                words += 1;
            }
        }
        b.flush(&mut t);
        let total: u64 = t.iter().map(|(_, n)| n).sum();
        assert_eq!(total, words);
        assert_eq!(t.len(), 33);
        assert!(t.iter().all(|(_, n)| n == 100));
    }

    #[test]
    fn report_orders_and_filters() {
        let t = tally(&["b", "a", "é", "z", "zz", "zz", "ab", "ab", "ab", "", "é"]);
        let r = t.report(None, 0, |_| false).unwrap();
        assert_eq!((r.total, r.unique), (11, 7));
        assert_eq!(
            owned(&r),
            pairs(&[
                ("ab", 3),
                ("zz", 2),
                ("é", 2),
                ("", 1),
                ("a", 1),
                ("b", 1),
                ("z", 1)
            ])
        );
        // min_length counts code points: "é" is one.
        let r = t.report(Some(3), 1, |w| w == "zz").unwrap();
        assert_eq!((r.total, r.unique), (8, 5));
        assert_eq!(owned(&r), pairs(&[("ab", 3), ("é", 2), ("a", 1)]));
        let r = t.report(Some(0), 2, |_| false).unwrap();
        assert_eq!((r.total, r.unique, r.words.len()), (5, 2, 0));
        let r = t.report(Some(100), 1, |_| false).unwrap();
        assert_eq!(r.words.len(), 6);
    }

    #[test]
    fn a_table_that_could_not_grow_stops_inserting_instead_of_hanging() {
        let mut t = Tally::new();
        // As if the allocator had refused the first growth.
        t.tiny.failed = true;
        t.short.failed = true;
        t.long_failed = true;
        for i in 0..1000u32 {
            t.add(format!("w{i}").as_bytes());
            t.add(format!("word-number-{i:04}").as_bytes());
        }
        assert!(t.out_of_memory());
        assert!(t.tiny.len < t.tiny.slots.len() && t.short.len < t.short.slots.len());
        let mut merged = Tally::new();
        assert!(!merged.out_of_memory());
        merged.merge_from(&t);
        assert!(merged.out_of_memory());
    }

    #[test]
    fn skipped_runs_add_up_on_merge_and_double() {
        let mut a = tally(&["x"]);
        a.skipped = 2;
        let mut b = tally(&["y"]);
        b.skipped = 3;
        a.merge_from(&b);
        assert_eq!(a.skipped, 5);
        let mut c = Tally::new();
        c.skipped = 1;
        c.absorb(a);
        assert_eq!(c.skipped, 6);
        c.double();
        assert_eq!(c.skipped, 12);
    }

    #[test]
    fn csv_rows_quote_as_python_does_and_stop_at_the_limit() {
        let t = tally(&["plain", "a,b", "say \"hi\"", "\"", "", "cr\rlf\n", "plain"]);
        let r = t.report(None, 0, |_| false).unwrap();
        let mut out = Vec::new();
        let mut rows = r.words.iter();
        assert!(!write_csv_rows(&mut rows, &mut out, usize::MAX));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain,2\n,1\n\"\"\"\",1\n\"a,b\",1\n\"cr\rlf\n\",1\n\"say \"\"hi\"\"\",1\n"
        );
        let mut rows = r.words.iter();
        let mut out = Vec::new();
        assert!(write_csv_rows(&mut rows, &mut out, 1));
        assert_eq!(out, b"plain,2\n");
    }

    #[test]
    fn top_selection_matches_full_sort() {
        let mut t = Tally::new();
        for i in 0..500u64 {
            let w = format!("w{}-{}", i % 37, "x".repeat((i % 3 * 10) as usize));
            for _ in 0..(i % 7) {
                t.add(w.as_bytes());
            }
        }
        let all = owned(&t.report(None, 1, |_| false).unwrap());
        for top in [1, 5, 10, 36, 37, 40] {
            let r = t.report(Some(top), 1, |_| false).unwrap();
            assert_eq!(owned(&r), all[..top.min(all.len())].to_vec());
        }
    }
}
