//! Character properties and case mappings, read from the generated `tables` (Python
//! 3.11's Unicode 14.0.0), plus the single-byte decodings (Windows-1252, Latin-1).

use crate::tables::{
    ALPHA_CHUNKS, ALPHA_CHUNK_BITS, ALPHA_INDEX, CASED, CASE_IGNORABLE, CP1252_HIGH, LOWER_MULTI,
    LOWER_SIMPLE, MARK,
};

/// Unicode replacement character.
pub const REPLACEMENT: char = '\u{FFFD}';

/// True when `c` is a letter or a mark (general category L* or M*): what words are made of.
#[inline]
pub fn is_alpha(c: char) -> bool {
    let cp = c as u32;
    match ALPHA_INDEX.get((cp >> ALPHA_CHUNK_BITS) as usize) {
        Some(&chunk) => {
            let bits = ALPHA_CHUNKS.get(chunk as usize).copied().unwrap_or(0);
            (bits >> (cp & 63)) & 1 != 0
        }
        None => false,
    }
}

/// Simple (one-to-one) lowercase mapping, as Go's `unicode.ToLower`.
#[inline]
pub fn lower_simple(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let cp = c as u32;
    match LOWER_SIMPLE.binary_search_by_key(&cp, |&(from, _)| from) {
        Ok(i) => char::from_u32(LOWER_SIMPLE[i].1).unwrap_or(c),
        Err(_) => c,
    }
}

/// Append the full lowercase mapping of `c` (Python's `str.lower()` for one character,
/// without the final-sigma context rule) to `out`.
#[inline]
pub fn push_lower_full(c: char, out: &mut String) {
    if !c.is_ascii() {
        if let Some(&(_, many)) = LOWER_MULTI.iter().find(|&&(from, _)| from == c as u32) {
            out.extend(many.iter());
            return;
        }
    }
    out.push(lower_simple(c));
}

fn in_ranges(ranges: &[(u32, u32)], cp: u32) -> bool {
    match ranges.binary_search_by_key(&cp, |&(lo, _)| lo) {
        Ok(_) => true,
        Err(0) => false,
        Err(i) => cp <= ranges[i - 1].1,
    }
}

/// Case-ignorable in CPython's final-sigma rule.
pub fn is_case_ignorable(c: char) -> bool {
    in_ranges(&CASE_IGNORABLE, c as u32)
}

/// Cased (and not case-ignorable) in CPython's final-sigma rule.
pub fn is_cased(c: char) -> bool {
    in_ranges(&CASED, c as u32)
}

/// A mark (general category M*): it continues the part of a word it follows.
pub fn is_mark(c: char) -> bool {
    in_ranges(&MARK, c as u32)
}

/// One byte decoded as Windows-1252 (the five undefined bytes become U+FFFD).
#[inline]
pub fn cp1252(b: u8) -> char {
    if b < 0x80 {
        b as char
    } else {
        CP1252_HIGH[(b - 0x80) as usize]
    }
}

/// One byte decoded as Latin-1.
#[inline]
pub fn latin1(b: u8) -> char {
    b as char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_marks() {
        for c in ['a', 'Z', 'é', 'ß', 'Σ', '\u{0301}', '語', 'ʼ', '\u{E0100}'] {
            assert!(is_alpha(c), "{c:?}");
        }
        for c in [
            '1',
            ' ',
            '\'',
            '\u{2019}',
            '-',
            '\u{200B}',
            '\u{00AD}',
            '\u{FFFD}',
            '€',
            '😀',
            '\u{10FFFF}',
            '٣',
        ] {
            assert!(!is_alpha(c), "{c:?}");
        }
        // Unicode 15 additions are unassigned in Unicode 14 (Python 3.11): not letters.
        assert!(!is_alpha('\u{11F04}')); // KAWI LETTER A (Unicode 15)
        assert!(is_alpha('\u{10570}')); // VITHKUQI CAPITAL LETTER A (Unicode 14)
    }

    #[test]
    fn lowercase() {
        assert_eq!(lower_simple('A'), 'a');
        assert_eq!(lower_simple('É'), 'é');
        assert_eq!(lower_simple('Σ'), 'σ');
        assert_eq!(lower_simple('\u{0130}'), 'i');
        assert_eq!(lower_simple('\u{212A}'), 'k'); // KELVIN SIGN
        assert_eq!(lower_simple('Ⓐ'), 'ⓐ');
        assert_eq!(lower_simple('ß'), 'ß');
        assert_eq!(lower_simple('1'), '1');
        let mut s = String::new();
        push_lower_full('\u{0130}', &mut s);
        push_lower_full('Ä', &mut s);
        push_lower_full('x', &mut s);
        assert_eq!(s, "i\u{0307}äx");
    }

    #[test]
    fn case_properties() {
        assert!(is_cased('A') && is_cased('a') && is_cased('Σ') && is_cased('ǅ'));
        assert!(!is_cased('1') && !is_cased('語') && !is_cased('\''));
        assert!(is_case_ignorable('\'') && is_case_ignorable('\u{0301}'));
        assert!(is_case_ignorable('\u{2019}') && is_case_ignorable('ʰ'));
        assert!(!is_case_ignorable('a') && !is_case_ignorable('1'));
        assert!(is_mark('\u{0301}') && is_mark('\u{0E31}') && is_mark('\u{3099}'));
        assert!(!is_mark('a') && !is_mark('ー') && !is_mark('\u{309B}'));
        // U+0345 is both cased and case-ignorable: CPython skips it as ignorable.
        assert!(is_case_ignorable('\u{0345}') && !is_cased('\u{0345}'));
    }

    #[test]
    fn single_byte_decodings() {
        assert_eq!(cp1252(b'a'), 'a');
        assert_eq!(cp1252(0x80), '€');
        assert_eq!(cp1252(0x92), '\u{2019}');
        assert_eq!(cp1252(0x8A), 'Š');
        assert_eq!(cp1252(0x9F), 'Ÿ');
        assert_eq!(cp1252(0x83), 'ƒ');
        for b in [0x81, 0x8D, 0x8F, 0x90, 0x9D] {
            assert_eq!(cp1252(b), REPLACEMENT);
        }
        assert_eq!(cp1252(0xE9), 'é');
        assert_eq!(latin1(0x92), '\u{0092}');
        assert_eq!(latin1(0xFF), 'ÿ');
    }
}
