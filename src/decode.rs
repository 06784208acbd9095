//! Input decodings of `words` mode: encoding names, byte-order-mark detection, one UTF-8
//! step, and a streaming UTF-16 decoder.

use crate::chars::{cp1252, latin1, REPLACEMENT};

/// The encoding a caller asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Detect: a BOM, else UTF-8 with per-byte Windows-1252 fallback.
    Auto,
    Utf8,
    Cp1252,
    Latin1,
    Utf16,
}

impl Encoding {
    /// Every encoding a caller may force, by name.
    pub const NAMES: [&'static str; 4] = ["utf-8", "cp1252", "latin-1", "utf-16"];

    /// Parse a caller's encoding name; `None` (or `"auto"`) is detection.
    pub fn from_name(name: Option<&str>) -> Option<Encoding> {
        Some(match name {
            None | Some("auto") => Encoding::Auto,
            Some("utf-8") => Encoding::Utf8,
            Some("cp1252") => Encoding::Cp1252,
            Some("latin-1") => Encoding::Latin1,
            Some("utf-16") => Encoding::Utf16,
            Some(_) => return None,
        })
    }

    /// The name as callers spell it (`None` for detection).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Encoding::Auto => None,
            Encoding::Utf8 => Some("utf-8"),
            Encoding::Cp1252 => Some("cp1252"),
            Encoding::Latin1 => Some("latin-1"),
            Encoding::Utf16 => Some("utf-16"),
        }
    }
}

/// A decoding in which every byte below 0x80 stands for itself (so ASCII bytes can be
/// classified without decoding, and an ASCII separator is a safe split point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteDecoding {
    /// UTF-8; a byte outside a valid sequence is decoded alone as Windows-1252.
    Utf8Fallback,
    /// UTF-8; invalid sequences become U+FFFD.
    Utf8Replace,
    Cp1252,
    Latin1,
}

/// The decoding chosen once the start of the stream is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoding {
    Bytes(ByteDecoding),
    Utf16 { big_endian: bool },
}

/// Choose the decoding from the first bytes of the stream (`head`, at most 3 bytes are
/// ever needed). Returns the decoding and the length of the BOM to drop, or `None` when
/// more bytes are needed to tell; at the end of input (`at_end`) it always decides.
pub fn detect(encoding: Encoding, head: &[u8], at_end: bool) -> Option<(Decoding, usize)> {
    const UTF8: Decoding = Decoding::Bytes(ByteDecoding::Utf8Fallback);
    match encoding {
        Encoding::Cp1252 => Some((Decoding::Bytes(ByteDecoding::Cp1252), 0)),
        Encoding::Latin1 => Some((Decoding::Bytes(ByteDecoding::Latin1), 0)),
        Encoding::Utf8 => match utf8_bom(head, at_end)? {
            true => Some((Decoding::Bytes(ByteDecoding::Utf8Replace), 3)),
            false => Some((Decoding::Bytes(ByteDecoding::Utf8Replace), 0)),
        },
        Encoding::Utf16 => match head {
            [0xFE, 0xFF, ..] => Some((Decoding::Utf16 { big_endian: true }, 2)),
            [0xFF, 0xFE, ..] => Some((Decoding::Utf16 { big_endian: false }, 2)),
            [_, _, ..] => Some((Decoding::Utf16 { big_endian: false }, 0)),
            _ if at_end => Some((Decoding::Utf16 { big_endian: false }, 0)),
            _ => None,
        },
        Encoding::Auto => match head {
            [0xFF, 0xFE, ..] => Some((Decoding::Utf16 { big_endian: false }, 2)),
            [0xFE, 0xFF, ..] => Some((Decoding::Utf16 { big_endian: true }, 2)),
            [0xFF | 0xFE] if !at_end => None,
            _ => match utf8_bom(head, at_end)? {
                true => Some((UTF8, 3)),
                false => Some((UTF8, 0)),
            },
        },
    }
}

/// Whether `head` starts with a UTF-8 BOM; `None` while it is still a proper prefix of one.
fn utf8_bom(head: &[u8], at_end: bool) -> Option<bool> {
    const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
    let n = head.len().min(3);
    if head[..n] != BOM[..n] {
        Some(false)
    } else if n == 3 {
        Some(true)
    } else if at_end {
        Some(false)
    } else {
        None
    }
}

/// Result of decoding one UTF-8 sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Utf8Step {
    /// A valid character and its length in bytes.
    Char(char, usize),
    /// The first byte does not start a valid sequence (resume at the next byte).
    Invalid,
    /// The bytes so far are a valid but unfinished sequence: more input is needed.
    Incomplete,
}

/// Decode the UTF-8 sequence at the start of `s` (well-formed per Unicode table 3-7:
/// shortest form, no surrogates, at most U+10FFFF). `s` must not be empty.
#[inline]
pub fn utf8_step(s: &[u8]) -> Utf8Step {
    let Some(&b0) = s.first() else {
        return Utf8Step::Incomplete;
    };
    if b0 < 0x80 {
        return Utf8Step::Char(b0 as char, 1);
    }
    // (length, range of the second byte)
    let (len, lo, hi) = match b0 {
        0xC2..=0xDF => (2, 0x80, 0xBF),
        0xE0 => (3, 0xA0, 0xBF),
        0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80, 0xBF),
        0xED => (3, 0x80, 0x9F),
        0xF0 => (4, 0x90, 0xBF),
        0xF1..=0xF3 => (4, 0x80, 0xBF),
        0xF4 => (4, 0x80, 0x8F),
        _ => return Utf8Step::Invalid,
    };
    let mut cp = u32::from(b0) & (0x7F >> len);
    for k in 1..len {
        let Some(&b) = s.get(k) else {
            return Utf8Step::Incomplete;
        };
        let ok = if k == 1 {
            (lo..=hi).contains(&b)
        } else {
            (0x80..=0xBF).contains(&b)
        };
        if !ok {
            return Utf8Step::Invalid;
        }
        cp = (cp << 6) | u32::from(b & 0x3F);
    }
    match char::from_u32(cp) {
        Some(c) => Utf8Step::Char(c, len),
        None => Utf8Step::Invalid,
    }
}

/// A character cut at the end of one chunk of a byte decoding: its first bytes, carried
/// to the next chunk (both tokenizers stream chunks cut anywhere).
#[derive(Clone, Copy, Debug, Default)]
pub struct CutChar {
    bytes: [u8; 4],
    len: usize,
}

impl CutChar {
    /// Nothing carried.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Carry `rest`, the unfinished start of a character at the end of a chunk.
    pub fn keep(&mut self, rest: &[u8]) {
        let n = rest.len().min(self.bytes.len());
        self.bytes[..n].copy_from_slice(&rest[..n]);
        self.len = n;
    }

    /// Finish what is carried with the first bytes of `buf`, handing each character
    /// decoded to `push`: where `buf`'s own characters start, or `None` when `buf` is too
    /// short to finish it (then all of `buf` is carried too).
    pub fn resume(
        &mut self,
        dec: ByteDecoding,
        buf: &[u8],
        mut push: impl FnMut(char),
    ) -> Option<usize> {
        let plen = std::mem::take(&mut self.len);
        if plen == 0 {
            return Some(0);
        }
        let take = buf.len().min(3);
        let mut tmp = [0u8; 7];
        tmp[..plen].copy_from_slice(&self.bytes[..plen]);
        tmp[plen..plen + take].copy_from_slice(&buf[..take]);
        let tmp = &tmp[..plen + take];
        let mut pos = 0;
        while pos < plen {
            match decode_byte_char(dec, &tmp[pos..], false) {
                Some((c, len)) => {
                    push(c);
                    pos += len;
                }
                None => {
                    // Still unfinished: no sequence is longer than 4 bytes, so the whole
                    // (short) chunk is in `tmp`.
                    self.keep(&tmp[pos..]);
                    return None;
                }
            }
        }
        Some(pos - plen)
    }

    /// End of input: decode what is carried (an unfinished sequence is invalid there).
    pub fn finish(&mut self, dec: ByteDecoding, mut push: impl FnMut(char)) {
        let plen = std::mem::take(&mut self.len);
        let bytes = self.bytes;
        let mut pos = 0;
        while pos < plen {
            match decode_byte_char(dec, &bytes[pos..plen], true) {
                Some((c, len)) => {
                    push(c);
                    pos += len;
                }
                None => break,
            }
        }
    }
}

/// Decode one character of a byte decoding at the start of `s` (not empty): the
/// character and its length, or `None` if `s` ends inside a valid UTF-8 sequence and
/// `at_end` is false. At the end of input an unfinished sequence is invalid.
#[inline]
pub fn decode_byte_char(dec: ByteDecoding, s: &[u8], at_end: bool) -> Option<(char, usize)> {
    let b = *s.first()?;
    if b < 0x80 {
        return Some((b as char, 1));
    }
    match dec {
        ByteDecoding::Cp1252 => Some((cp1252(b), 1)),
        ByteDecoding::Latin1 => Some((latin1(b), 1)),
        ByteDecoding::Utf8Fallback | ByteDecoding::Utf8Replace => match utf8_step(s) {
            Utf8Step::Char(c, n) => Some((c, n)),
            Utf8Step::Incomplete if !at_end => None,
            Utf8Step::Invalid | Utf8Step::Incomplete => {
                Some(if dec == ByteDecoding::Utf8Fallback {
                    (cp1252(b), 1)
                } else {
                    (REPLACEMENT, 1)
                })
            }
        },
    }
}

/// Streaming UTF-16 decoder: holds an odd byte and an unpaired high surrogate between
/// chunks. Unpaired surrogates and a trailing odd byte decode as U+FFFD.
#[derive(Clone, Debug, Default)]
pub struct Utf16Decoder {
    big_endian: bool,
    odd: Option<u8>,
    high: Option<u16>,
}

impl Utf16Decoder {
    pub fn new(big_endian: bool) -> Self {
        Utf16Decoder {
            big_endian,
            odd: None,
            high: None,
        }
    }

    /// Decode `data`, calling `emit` with each character.
    pub fn decode(&mut self, mut data: &[u8], mut emit: impl FnMut(char)) {
        if let Some(first) = self.odd.take() {
            match data.split_first() {
                Some((&second, rest)) => {
                    self.unit([first, second], &mut emit);
                    data = rest;
                }
                None => {
                    self.odd = Some(first);
                    return;
                }
            }
        }
        let mut pairs = data.chunks_exact(2);
        for pair in &mut pairs {
            self.unit([pair[0], pair[1]], &mut emit);
        }
        if let [b] = pairs.remainder() {
            self.odd = Some(*b);
        }
    }

    /// Decode `data`, appending the characters to `out` as UTF-8 (always valid).
    pub fn decode_to_utf8(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.reserve(data.len() + data.len() / 2);
        self.decode(data, |c| push_utf8(out, c));
    }

    /// End of input: append what is pending to `out` as UTF-8.
    pub fn finish_to_utf8(&mut self, out: &mut Vec<u8>) {
        self.finish(|c| push_utf8(out, c));
    }

    /// End of input: flush what is pending.
    pub fn finish(&mut self, mut emit: impl FnMut(char)) {
        if self.high.take().is_some() {
            emit(REPLACEMENT);
        }
        if self.odd.take().is_some() {
            emit(REPLACEMENT);
        }
    }

    #[inline]
    fn unit(&mut self, bytes: [u8; 2], emit: &mut impl FnMut(char)) {
        let u = if self.big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        };
        if let Some(high) = self.high.take() {
            if (0xDC00..=0xDFFF).contains(&u) {
                let cp = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                emit(char::from_u32(cp).unwrap_or(REPLACEMENT));
                return;
            }
            emit(REPLACEMENT);
        }
        match u {
            0xD800..=0xDBFF => self.high = Some(u),
            0xDC00..=0xDFFF => emit(REPLACEMENT),
            _ => emit(char::from_u32(u32::from(u)).unwrap_or(REPLACEMENT)),
        }
    }
}

#[inline]
fn push_utf8(out: &mut Vec<u8>, c: char) {
    if c.is_ascii() {
        out.push(c as u8);
    } else {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(dec: ByteDecoding, s: &[u8]) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < s.len() {
            let (c, n) = decode_byte_char(dec, &s[i..], true).unwrap();
            out.push(c);
            i += n;
        }
        out
    }

    #[test]
    fn utf8_steps() {
        assert_eq!(utf8_step(b"a"), Utf8Step::Char('a', 1));
        assert_eq!(utf8_step("é".as_bytes()), Utf8Step::Char('é', 2));
        assert_eq!(utf8_step("€x".as_bytes()), Utf8Step::Char('€', 3));
        assert_eq!(utf8_step("😀".as_bytes()), Utf8Step::Char('😀', 4));
        assert_eq!(utf8_step(b"\xE2\x80"), Utf8Step::Incomplete);
        assert_eq!(utf8_step(b"\xE2\x80A"), Utf8Step::Invalid);
        assert_eq!(utf8_step(b"\xC0\x80"), Utf8Step::Invalid); // overlong
        assert_eq!(utf8_step(b"\xE0\x9F\xBF"), Utf8Step::Invalid); // overlong
        assert_eq!(utf8_step(b"\xED\xA0\x80"), Utf8Step::Invalid); // surrogate
        assert_eq!(utf8_step(b"\xF4\x90\x80\x80"), Utf8Step::Invalid); // > U+10FFFF
        assert_eq!(utf8_step(b"\xF5"), Utf8Step::Invalid);
        assert_eq!(utf8_step(b"\x80"), Utf8Step::Invalid);
        assert_eq!(utf8_step(b"\xF0\x9F\x98"), Utf8Step::Incomplete);
    }

    #[test]
    fn per_byte_fallback() {
        // The spec's example: E2 80 41 -> â € A.
        assert_eq!(decode_all(ByteDecoding::Utf8Fallback, b"\xE2\x80A"), "â€A");
        assert_eq!(
            decode_all(ByteDecoding::Utf8Fallback, b"don\x92t"),
            "don\u{2019}t"
        );
        assert_eq!(
            decode_all(ByteDecoding::Utf8Fallback, "café".as_bytes()),
            "café"
        );
        assert_eq!(
            decode_all(ByteDecoding::Utf8Fallback, b"\x81\xE9"),
            "\u{FFFD}é"
        );
        assert_eq!(
            decode_all(ByteDecoding::Utf8Replace, b"a\xE2\x80Ab"),
            "a\u{FFFD}\u{FFFD}Ab"
        );
        assert_eq!(decode_all(ByteDecoding::Cp1252, "é".as_bytes()), "Ã©");
        assert_eq!(decode_all(ByteDecoding::Latin1, b"\x92\xE9"), "\u{92}é");
        assert_eq!(
            decode_byte_char(ByteDecoding::Utf8Fallback, b"\xC3", false),
            None
        );
        assert_eq!(
            decode_byte_char(ByteDecoding::Utf8Fallback, b"\xC3", true),
            Some(('Ã', 1))
        );
    }

    #[test]
    fn bom_detection() {
        use Decoding::*;
        let utf8 = Bytes(ByteDecoding::Utf8Fallback);
        assert_eq!(detect(Encoding::Auto, b"", false), None);
        assert_eq!(detect(Encoding::Auto, b"", true), Some((utf8, 0)));
        assert_eq!(detect(Encoding::Auto, b"a", false), Some((utf8, 0)));
        assert_eq!(detect(Encoding::Auto, b"\xEF", false), None);
        assert_eq!(detect(Encoding::Auto, b"\xEF\xBB", false), None);
        assert_eq!(detect(Encoding::Auto, b"\xEF\xBB", true), Some((utf8, 0)));
        assert_eq!(detect(Encoding::Auto, b"\xEF\xBBa", false), Some((utf8, 0)));
        assert_eq!(
            detect(Encoding::Auto, b"\xEF\xBB\xBF", false),
            Some((utf8, 3))
        );
        assert_eq!(detect(Encoding::Auto, b"\xFF", false), None);
        assert_eq!(detect(Encoding::Auto, b"\xFF", true), Some((utf8, 0)));
        assert_eq!(
            detect(Encoding::Auto, b"\xFF\xFE", false),
            Some((Utf16 { big_endian: false }, 2))
        );
        assert_eq!(
            detect(Encoding::Auto, b"\xFE\xFF", false),
            Some((Utf16 { big_endian: true }, 2))
        );
        assert_eq!(detect(Encoding::Auto, b"\xFEa", false), Some((utf8, 0)));
        let strict = Bytes(ByteDecoding::Utf8Replace);
        assert_eq!(
            detect(Encoding::Utf8, b"\xEF\xBB\xBF", false),
            Some((strict, 3))
        );
        assert_eq!(
            detect(Encoding::Utf8, b"\xFF\xFE", false),
            Some((strict, 0))
        );
        assert_eq!(detect(Encoding::Utf16, b"\xFE", false), None);
        assert_eq!(
            detect(Encoding::Utf16, b"\xFE", true),
            Some((Utf16 { big_endian: false }, 0))
        );
        assert_eq!(
            detect(Encoding::Utf16, b"\xFE\xFF", false),
            Some((Utf16 { big_endian: true }, 2))
        );
        assert_eq!(
            detect(Encoding::Utf16, b"a\x00", false),
            Some((Utf16 { big_endian: false }, 0))
        );
        assert_eq!(
            detect(Encoding::Cp1252, b"", false),
            Some((Bytes(ByteDecoding::Cp1252), 0))
        );
        assert_eq!(
            detect(Encoding::Latin1, b"", false),
            Some((Bytes(ByteDecoding::Latin1), 0))
        );
    }

    fn utf16(big_endian: bool, chunks: &[&[u8]]) -> String {
        let mut d = Utf16Decoder::new(big_endian);
        let mut out = String::new();
        for chunk in chunks {
            d.decode(chunk, |c| out.push(c));
        }
        d.finish(|c| out.push(c));
        out
    }

    #[test]
    fn utf16_streaming() {
        assert_eq!(utf16(false, &[b"h\x00i\x00"]), "hi");
        assert_eq!(utf16(true, &[b"\x00h\x00i"]), "hi");
        // 😀 = D83D DE00, split in every possible place.
        let le = b"\x3D\xD8\x00\xDE";
        for cut in 0..=4 {
            assert_eq!(utf16(false, &[&le[..cut], &le[cut..]]), "😀", "cut {cut}");
        }
        assert_eq!(utf16(false, &[b"\x3D\xD8a\x00"]), "\u{FFFD}a"); // unpaired high
        assert_eq!(utf16(false, &[b"\x00\xDCa\x00"]), "\u{FFFD}a"); // lone low
        assert_eq!(utf16(false, &[b"\x3D\xD8"]), "\u{FFFD}"); // high at end
        assert_eq!(utf16(false, &[b"a\x00b"]), "a\u{FFFD}"); // odd byte
        assert_eq!(utf16(false, &[b"a", b"\x00", b"b"]), "a\u{FFFD}");
    }

    #[test]
    fn utf16_to_utf8() {
        let mut d = Utf16Decoder::new(true);
        let mut out = Vec::new();
        d.decode_to_utf8(b"\x00h\xD8\x3D", &mut out);
        d.decode_to_utf8(b"\xDE\x00\x20\xAC\xD8", &mut out);
        d.finish_to_utf8(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "h😀€\u{FFFD}");
    }

    #[test]
    fn names() {
        assert_eq!(Encoding::from_name(None), Some(Encoding::Auto));
        assert_eq!(Encoding::from_name(Some("auto")), Some(Encoding::Auto));
        assert_eq!(Encoding::from_name(Some("latin-1")), Some(Encoding::Latin1));
        assert_eq!(Encoding::from_name(Some("UTF-8")), None);
        assert_eq!(
            Encoding::from_name(Some("utf-16")).unwrap().name(),
            Some("utf-16")
        );
        for name in Encoding::NAMES {
            assert_eq!(Encoding::from_name(Some(name)).unwrap().name(), Some(name));
        }
    }
}
