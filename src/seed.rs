//! `seed` mode: the exact behaviour of the original Go worker.
//!
//! Tokens are split like Go's `bufio.ScanWords` (Go's `unicode.IsSpace` set; an invalid
//! UTF-8 byte is never a space), lowercased like `strings.ToLower`, skipped when the
//! lowercased token is at most 4 bytes long, then trimmed of `.,"'?!` on both ends (an
//! empty result is still counted).
//!
//! Go decodes UTF-8 one rune at a time and an invalid byte has width 1, so every lead
//! byte starts a rune of its own: a multi-byte space is recognised wherever its exact
//! byte sequence occurs, with no state but a space cut at the end of a chunk.
//!
//! A raw token longer than the limit (in bytes, before lowercasing and trimming) is not
//! counted but tallied as skipped, and is not buffered past the limit when it spans
//! chunks (the Go scanner failed on tokens over 64 KiB; here they are skipped).

use crate::chars::{lower_simple, REPLACEMENT};
use crate::decode::{utf8_step, Utf8Step};
use crate::tally::{Batch, Tally};

const TOKEN: u8 = 0;
const SPACE: u8 = 1;
const LEAD: u8 = 2;

/// Class of each byte: ASCII space, lead byte of a multi-byte space, or anything else.
static CLASS: [u8; 256] = {
    let mut t = [TOKEN; 256];
    t[b'\t' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[0x0B] = SPACE;
    t[0x0C] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[b' ' as usize] = SPACE;
    t[0xC2] = LEAD; // U+0085, U+00A0
    t[0xE1] = LEAD; // U+1680
    t[0xE2] = LEAD; // U+2000..U+200A, U+2028, U+2029, U+202F, U+205F
    t[0xE3] = LEAD; // U+3000
    t
};

/// True for an ASCII space: a safe place to split `seed` input.
#[inline]
pub fn is_safe_split_byte(b: u8) -> bool {
    CLASS[b as usize] == SPACE
}

#[derive(Debug, PartialEq, Eq)]
enum SpaceMatch {
    /// A multi-byte space of this length.
    Space(usize),
    /// Not a space.
    No,
    /// A proper prefix of a multi-byte space ends the input.
    Incomplete,
}

/// Whether a multi-byte Go space starts `s` (whose first byte is a `LEAD`).
fn space_at(s: &[u8]) -> SpaceMatch {
    let need = |n: usize, ok: bool| {
        if !ok {
            SpaceMatch::No
        } else if s.len() < n {
            SpaceMatch::Incomplete
        } else {
            SpaceMatch::Space(n)
        }
    };
    match s {
        [0xC2] | [0xE1] | [0xE2] | [0xE3] => SpaceMatch::Incomplete,
        [0xC2, b, ..] => need(2, *b == 0x85 || *b == 0xA0),
        [0xE1, 0x9A] | [0xE2, 0x80] | [0xE2, 0x81] | [0xE3, 0x80] => SpaceMatch::Incomplete,
        [0xE1, 0x9A, 0x80, ..] => SpaceMatch::Space(3),
        [0xE2, 0x80, b, ..] => need(3, matches!(b, 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)),
        [0xE2, 0x81, 0x9F, ..] => SpaceMatch::Space(3),
        [0xE3, 0x80, 0x80, ..] => SpaceMatch::Space(3),
        _ => SpaceMatch::No,
    }
}

/// Where the token starting at `i` ends.
enum Stop {
    /// A space of this many bytes at the end position.
    Space(usize),
    /// The chunk ends inside the token.
    End,
    /// The chunk ends with a proper prefix of a multi-byte space, at the end position.
    Incomplete,
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// Bit 7 of each byte of `w` that is an ASCII space (`\t`..`\r`, ` `) (SWAR, exact).
#[inline]
fn ascii_space_bits(w: u64) -> u64 {
    let x = w & LOW7;
    let ge_tab = x + 0x7777_7777_7777_7777; // >= 0x09
    let gt_cr = x + 0x7272_7272_7272_7272; // > 0x0D
    let v = w ^ 0x2020_2020_2020_2020;
    let space = !(((v & LOW7) + LOW7) | v);
    ((ge_tab & !gt_cr) | space) & !w & HIGH_BITS
}

/// Bit 7 of each byte of `w` that may end a token: an ASCII space or any byte >= 0x80
/// (which the byte table then sorts out) (SWAR).
#[inline]
fn stop_bits(w: u64) -> u64 {
    ascii_space_bits(w) | (w & HIGH_BITS)
}

/// Where the first safe split byte of `buf` is (see [`is_safe_split_byte`]).
pub fn find_safe_split_byte(buf: &[u8]) -> Option<usize> {
    crate::split::find_safe(buf, ascii_space_bits, is_safe_split_byte)
}

/// Find where the token starting at `i` ends; also tells whether the token so far has
/// a byte >= 0x80.
#[inline]
fn token_end(buf: &[u8], mut i: usize) -> (usize, Stop, bool) {
    let n = buf.len();
    let mut high = false;
    while i < n {
        // Skip eight ordinary ASCII token bytes at a time.
        while i + 8 <= n {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[i..i + 8]);
            let stops = stop_bits(u64::from_le_bytes(b));
            if stops != 0 {
                i += (stops.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        if i >= n {
            break;
        }
        match CLASS[buf[i] as usize] {
            TOKEN => {
                high |= buf[i] >= 0x80;
                i += 1;
            }
            SPACE => return (i, Stop::Space(1), high),
            _ => match space_at(&buf[i..]) {
                SpaceMatch::Space(len) => return (i, Stop::Space(len), high),
                SpaceMatch::No => {
                    high = true;
                    i += 1;
                }
                SpaceMatch::Incomplete => return (i, Stop::Incomplete, high),
            },
        }
    }
    (n, Stop::End, high)
}

/// Go's `strings.ToLower` of a token into `out`: ASCII lowercase when the token is all
/// ASCII, else each rune by its simple lowercase mapping and each invalid byte as U+FFFD.
pub fn go_to_lower(token: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if token.is_ascii() {
        out.extend(token.iter().map(|b| b.to_ascii_lowercase()));
        return;
    }
    let mut i = 0;
    let mut buf = [0u8; 4];
    while i < token.len() {
        let (c, len) = match utf8_step(&token[i..]) {
            Utf8Step::Char(c, len) => (lower_simple(c), len),
            Utf8Step::Invalid | Utf8Step::Incomplete => (REPLACEMENT, 1),
        };
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        i += len;
    }
}

/// A byte of Go's trim set `.,"'?!`.
#[inline]
fn is_trimmed(b: u8) -> bool {
    matches!(b, b'.' | b',' | b'"' | b'\'' | b'?' | b'!')
}

/// Go's `strings.Trim(s, ".,\"'?!")`, as the range of `s` that is kept.
fn trim_range(s: &[u8]) -> (usize, usize) {
    let start = s.iter().position(|&b| !is_trimmed(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_trimmed(b))
        .map_or(start, |p| p + 1);
    (start, end)
}

#[cfg(test)]
fn trim(s: &[u8]) -> &[u8] {
    let (a, b) = trim_range(s);
    &s[a..b]
}

/// Streaming `seed` tokenizer.
#[derive(Clone, Debug)]
pub struct SeedWords {
    /// The token in progress (raw bytes) when a chunk ended inside it; empty while
    /// skipping.
    token: Vec<u8>,
    /// Raw bytes of the token in progress (0: none); not updated once skipping.
    token_len: usize,
    /// Longest token counted, in raw bytes.
    max: usize,
    /// The token in progress is longer than `max`.
    skipping: bool,
    /// A prefix of a multi-byte space cut at the end of the last chunk.
    pending: [u8; 2],
    pending_len: usize,
    lower: Vec<u8>,
    batch: Batch,
}

impl SeedWords {
    /// A tokenizer that counts tokens of at most `max_len` raw bytes.
    pub fn new(max_len: usize) -> Self {
        SeedWords {
            token: Vec::new(),
            token_len: 0,
            max: max_len,
            skipping: false,
            pending: [0; 2],
            pending_len: 0,
            lower: Vec::new(),
            batch: Batch::default(),
        }
    }

    /// A scanner in the state right after a safe split byte (nothing pending).
    pub fn fresh(&self) -> Self {
        Self::new(self.max)
    }

    /// Nothing carried.
    pub fn is_clean(&self) -> bool {
        self.token_len == 0 && self.pending_len == 0
    }

    /// Add raw bytes to the token in progress, buffering them only while it is within
    /// the limit.
    fn append(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        self.token_len += bytes.len();
        if self.token_len > self.max {
            self.skipping = true;
            self.token.clear();
        } else {
            self.token.extend_from_slice(bytes);
        }
    }

    /// Count the tokens of the next chunk of input.
    pub fn feed(&mut self, buf: &[u8], tally: &mut Tally) {
        let mut start = 0;
        if self.pending_len > 0 {
            let plen = self.pending_len;
            let take = buf.len().min(3 - plen);
            let mut tmp = [0u8; 3];
            tmp[..plen].copy_from_slice(&self.pending[..plen]);
            tmp[plen..plen + take].copy_from_slice(&buf[..take]);
            self.pending_len = 0;
            match space_at(&tmp[..plen + take]) {
                SpaceMatch::Space(len) => {
                    self.end_token(tally);
                    start = len - plen;
                }
                SpaceMatch::No => {
                    // The lead byte and the continuation bytes after it belong to the token.
                    self.append(&tmp[..plen]);
                }
                SpaceMatch::Incomplete => {
                    // The whole (short) chunk is still a prefix of a space.
                    self.pending[..plen + take].copy_from_slice(&tmp[..plen + take]);
                    self.pending_len = plen + take;
                    return;
                }
            }
        }
        self.scan(buf, start, tally);
        self.batch.flush(tally);
    }

    /// End of input: count the last token.
    pub fn finish(&mut self, tally: &mut Tally) {
        let plen = std::mem::take(&mut self.pending_len);
        let pending = self.pending;
        self.append(&pending[..plen]);
        self.end_token(tally);
        self.batch.flush(tally);
    }

    fn end_token(&mut self, tally: &mut Tally) {
        if self.token_len == 0 {
            return;
        }
        if self.skipping {
            tally.skipped += 1;
            self.skipping = false;
        } else {
            let token = std::mem::take(&mut self.token);
            self.count(&token, 0, token.len(), !token.is_ascii(), tally);
            self.token = token;
            self.token.clear();
        }
        self.token_len = 0;
    }

    fn scan(&mut self, buf: &[u8], mut i: usize, tally: &mut Tally) {
        let n = buf.len();
        while i < n {
            let (end, stop, high) = token_end(buf, i);
            match stop {
                Stop::Space(len) => {
                    if self.token_len == 0 {
                        if end > i {
                            self.count(buf, i, end, high, tally);
                        }
                    } else {
                        self.append(&buf[i..end]);
                        self.end_token(tally);
                    }
                    i = end + len;
                }
                Stop::End => {
                    self.append(&buf[i..]);
                    return;
                }
                Stop::Incomplete => {
                    self.append(&buf[i..end]);
                    // A proper prefix of a space: at most two bytes.
                    let rest = &buf[end..];
                    let k = rest.len().min(self.pending.len());
                    self.pending[..k].copy_from_slice(&rest[..k]);
                    self.pending_len = k;
                    return;
                }
            }
        }
    }

    /// Count one raw token, `buf[start..end]` (not empty), the way the Go worker did, or
    /// tally it as skipped when over the limit; `high` tells whether it has a byte >= 0x80.
    #[inline(always)]
    fn count(&mut self, buf: &[u8], start: usize, end: usize, high: bool, tally: &mut Tally) {
        if end - start > self.max {
            tally.skipped += 1;
            return;
        }
        if high {
            self.count_unicode(&buf[start..end], tally);
            return;
        }
        if end - start <= 4 {
            return;
        }
        // Trimming and ASCII lowercasing commute (the trimmed bytes are not letters).
        let (mut a, mut b) = (start, end);
        if is_trimmed(buf[a]) || is_trimmed(buf[b - 1]) {
            let (s, e) = trim_range(&buf[start..end]);
            (a, b) = (start + s, start + e);
        }
        self.batch.push_ascii_token(buf, a, b, tally);
    }

    /// `count` of a token with a byte >= 0x80.
    #[inline(never)]
    fn count_unicode(&mut self, token: &[u8], tally: &mut Tally) {
        go_to_lower(token, &mut self.lower);
        if self.lower.len() <= 4 {
            return;
        }
        let (a, b) = trim_range(&self.lower);
        tally.add(&self.lower[a..b]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_limited(max: usize, chunks: &[&[u8]]) -> (Vec<(String, u64)>, u64) {
        let mut t = Tally::new();
        let mut s = SeedWords::new(max);
        for c in chunks {
            s.feed(c, &mut t);
        }
        s.finish(&mut t);
        let mut v: Vec<_> = t.iter().map(|(w, n)| (w.as_str().to_string(), n)).collect();
        v.sort();
        (v, t.skipped)
    }

    fn count_chunks(chunks: &[&[u8]]) -> Vec<(String, u64)> {
        count_limited(1000, chunks).0
    }

    fn count(s: &[u8]) -> Vec<(String, u64)> {
        count_chunks(&[s])
    }

    fn expect(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        let mut v: Vec<_> = pairs.iter().map(|&(w, n)| (w.to_string(), n)).collect();
        v.sort();
        v
    }

    #[test]
    fn go_worker_examples() {
        assert_eq!(
            count(b"Hello, World!!"),
            expect(&[("hello", 1), ("world", 1)])
        );
        assert_eq!(count(b"\"quoted\""), expect(&[("quoted", 1)]));
        assert_eq!(count(b"It's the end"), expect(&[]));
        assert_eq!(count(b"'....' x"), expect(&[("", 1)]));
        assert_eq!(count("ÀÉÎ".as_bytes()), expect(&[("àéî", 1)]));
        assert_eq!(count(b"ab\xffc"), expect(&[("ab\u{FFFD}c", 1)]));
        assert_eq!(count(b"ABCD\xff"), expect(&[("abcd\u{FFFD}", 1)]));
        assert_eq!(count(b"\xff\xfe"), expect(&[("\u{FFFD}\u{FFFD}", 1)]));
        assert_eq!(
            count("\u{FEFF}the end".as_bytes()),
            expect(&[("\u{FEFF}the", 1)])
        );
        assert_eq!(count(b"don't!? don't."), expect(&[("don't", 2)]));
        assert_eq!(count("İSTANBUL".as_bytes()), expect(&[("istanbul", 1)]));
    }

    #[test]
    fn go_space_set() {
        let spaces = [
            "\t", "\n", "\u{0B}", "\u{0C}", "\r", " ", "\u{85}", "\u{A0}", "\u{1680}", "\u{2000}",
            "\u{2005}", "\u{200A}", "\u{2028}", "\u{2029}", "\u{202F}", "\u{205F}", "\u{3000}",
        ];
        for sp in spaces {
            let s = format!("alpha{sp}bravo{sp}{sp}");
            assert_eq!(
                count(s.as_bytes()),
                expect(&[("alpha", 1), ("bravo", 1)]),
                "{sp:?}"
            );
        }
        for not in [
            "\u{200B}", "\u{180E}", "\u{FEFF}", "\u{1C}", "\u{2060}", "\u{200C}",
        ] {
            let s = format!("alpha{not}bravo");
            assert_eq!(count(s.as_bytes()), expect(&[(s.as_str(), 1)]), "{not:?}");
        }
        // Invalid bytes are never spaces, and a broken space is part of the token.
        assert_eq!(count(b"abcde\xC2\x20fgh"), expect(&[("abcde\u{FFFD}", 1)]));
        assert_eq!(
            count(b"abc\xE2\x80\xE2\x80\x80defgh"),
            expect(&[("abc\u{FFFD}\u{FFFD}", 1), ("defgh", 1)])
        );
    }

    #[test]
    fn length_is_measured_after_lowercasing() {
        // U+212A KELVIN SIGN (3 bytes) lowercases to ASCII k: "kelvin" words shrink.
        assert_eq!(count("\u{212A}ab".as_bytes()), expect(&[]));
        assert_eq!(count("\u{212A}abc".as_bytes()), expect(&[]));
        assert_eq!(count("\u{212A}abcd".as_bytes()), expect(&[("kabcd", 1)]));
        // One invalid byte becomes three bytes.
        assert_eq!(count(b"ab\xff"), expect(&[("ab\u{FFFD}", 1)]));
        assert_eq!(count(b"\xff\xff!!"), expect(&[("\u{FFFD}\u{FFFD}", 1)]));
    }

    #[test]
    fn tokens_over_the_limit_are_skipped_by_raw_bytes() {
        // Raw bytes before lowercasing and trimming: "Hello," is 6 bytes.
        assert_eq!(
            count_limited(6, &[b"Hello, worlds!! abcdef"]),
            (expect(&[("abcdef", 1), ("hello", 1)]), 1)
        );
        // "ÀÉÎ" is 6 bytes; İ lowercases to one byte but counts as its two raw bytes.
        assert_eq!(count_limited(5, &["ÀÉÎ".as_bytes()]), (expect(&[]), 1));
        assert_eq!(
            count_limited(6, &["ÀÉÎ \u{130}ABCD".as_bytes()]),
            (expect(&[("iabcd", 1), ("àéî", 1)]), 0)
        );
        // A token over the limit is skipped even when the 4-byte rule would drop it.
        assert_eq!(count_limited(2, &[b"abc de"]), (expect(&[]), 1));
        // A real multi-byte space is not part of a token; an unfinished one at the end
        // of the input is.
        assert_eq!(
            count_limited(6, &[b"abcde\xE2\x80\x80fghij\xC2"]),
            (expect(&[("abcde", 1), ("fghij\u{FFFD}", 1)]), 0)
        );
        assert_eq!(count_limited(5, &[b"fghij\xC2"]), (expect(&[]), 1));
    }

    #[test]
    fn a_long_token_across_chunks_is_skipped_once_and_not_buffered() {
        let mut t = Tally::new();
        let mut s = SeedWords::new(100);
        s.feed(b"first ", &mut t);
        let piece = [b'x'; 4096];
        for _ in 0..1000 {
            s.feed(&piece, &mut t);
            assert!(s.token.capacity() <= 4096);
        }
        s.feed(b"\xE2\x80", &mut t); // a space cut in two
        s.feed(b"\x80tail", &mut t);
        s.finish(&mut t);
        assert_eq!(t.skipped, 1);
        let mut words: Vec<_> = t.iter().map(|(w, n)| (w.as_str().to_string(), n)).collect();
        words.sort();
        assert_eq!(words, expect(&[("first", 1)]));
    }

    #[test]
    fn the_limit_does_not_depend_on_chunking() {
        let mut text = "Hello, World!! \u{3000}ÀÉÎÔÛ naïve\u{85}quoted\u{2028}x"
            .as_bytes()
            .to_vec();
        text.extend_from_slice(
            b" abcd\xE2\x80 \xE2\x81\x9Fseven\xE1\x9A\x80eight\xC2\xA0ninety \xC2",
        );
        for max in [1, 4, 5, 6, 7, 11, 12] {
            let whole = count_limited(max, &[&text]);
            for a in 0..=text.len() {
                let b = (a + 3).min(text.len());
                let parts = [&text[..a], &text[a..b], &text[b..]];
                assert_eq!(count_limited(max, &parts), whole, "max {max} cuts {a} {b}");
            }
            let bytewise: Vec<&[u8]> = text.chunks(1).collect();
            assert_eq!(count_limited(max, &bytewise), whole);
        }
    }

    #[test]
    fn every_split_gives_the_same_counts() {
        let mut text = "Hello, World!! \u{3000}ÀÉÎÔÛ naïve\u{85}quoted\u{2028}x"
            .as_bytes()
            .to_vec();
        text.extend_from_slice(
            b" abcd\xE2\x80 \xE2\x81\x9Fseven\xE1\x9A\x80eight\xC2\xA0ninety \xC2",
        );
        let whole = count(&text);
        for a in 0..=text.len() {
            assert_eq!(count_chunks(&[&text[..a], &text[a..]]), whole, "cut {a}");
            let b = (a + 1).min(text.len());
            assert_eq!(
                count_chunks(&[&text[..a], &text[a..b], &[], &text[b..]]),
                whole
            );
        }
        let bytewise: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(count_chunks(&bytewise), whole);
    }

    #[test]
    fn swar_stops_cover_spaces_and_high_bytes() {
        for b in 0..=255u8 {
            let w = u64::from_le_bytes([b'x', b, b'.', b, 0x80, b, 0xFF, b]);
            let bits = stop_bits(w);
            for k in 0..8 {
                let byte = w.to_le_bytes()[k];
                let stop = CLASS[byte as usize] != TOKEN || byte >= 0x80;
                assert_eq!(bits & (0x80u64 << (8 * k)) != 0, stop, "{byte:#x}");
            }
        }
    }

    #[test]
    fn trims_like_go() {
        assert_eq!(trim(b"..a.b,,"), b"a.b");
        assert_eq!(trim(b"?!'\""), b"");
        assert_eq!(trim(b""), b"");
        assert_eq!(trim(b"-x-"), b"-x-");
    }
}
