//! Safe split points for counting one chunk on several threads.
//!
//! A safe point is just after a byte that, in the current mode and decoding, always ends
//! a word and leaves no state behind (an ASCII separator): the piece after it can be
//! counted by a fresh tokenizer and the counts add up exactly.

/// Cut `buf` into at most `parts` pieces of roughly equal size, each but the last ending
/// just after a safe byte. Returns the pieces in order; they cover `buf` exactly.
pub fn split(buf: &[u8], parts: usize, is_safe: impl Fn(u8) -> bool) -> Vec<&[u8]> {
    let n = buf.len();
    let parts = parts.max(1);
    let mut pieces = Vec::with_capacity(parts);
    let mut start = 0;
    for k in 1..parts {
        let target = (n / parts) * k;
        let limit = ((n / parts) * (k + 1)).min(n);
        if target < start {
            continue;
        }
        if let Some(p) = buf[target..limit].iter().position(|&b| is_safe(b)) {
            let cut = target + p + 1;
            pieces.push(&buf[start..cut]);
            start = cut;
        }
    }
    pieces.push(&buf[start..]);
    pieces
}

/// Where the first byte of `buf` that `is_safe` accepts is, eight bytes at a time:
/// `safe_bits` sets the high bit of each safe byte of a little-endian word (each mode's
/// SWAR test), so a range of a file finds its start at memory speed even in one huge run.
pub fn find_safe(
    buf: &[u8],
    safe_bits: impl Fn(u64) -> u64,
    is_safe: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut words = buf.chunks_exact(8);
    for (k, word) in words.by_ref().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(word);
        let safe = safe_bits(u64::from_le_bytes(b));
        if safe != 0 {
            return Some(k * 8 + (safe.trailing_zeros() / 8) as usize);
        }
    }
    let tail = words.remainder();
    let start = buf.len() - tail.len();
    tail.iter().position(|&b| is_safe(b)).map(|p| start + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_end_after_a_safe_byte_and_cover_the_input() {
        let buf = b"aaaa bbbb cccc dddd eeee ffff";
        let pieces = split(buf, 3, |b| b == b' ');
        assert_eq!(
            pieces,
            vec![&b"aaaa bbbb "[..], b"cccc dddd ", b"eeee ffff"]
        );
        assert_eq!(pieces.concat(), buf.to_vec());
    }

    #[test]
    fn no_safe_byte_means_fewer_pieces() {
        let buf = b"aaaaaaaaaaaaaaaaaaaa bbb";
        let pieces = split(buf, 4, |b| b == b' ');
        assert_eq!(pieces, vec![&b"aaaaaaaaaaaaaaaaaaaa "[..], b"bbb"]);
        assert_eq!(split(b"xyz", 2, |b| b == b' '), vec![&b"xyz"[..]]);
        assert_eq!(split(b"", 2, |b| b == b' '), vec![&b""[..]]);
        assert_eq!(split(b"a b", 1, |b| b == b' '), vec![&b"a b"[..]]);
    }

    #[test]
    fn a_run_with_no_safe_byte_is_one_piece_of_the_input_itself() {
        // One huge run (a hostile input): no copy, no state, one sequential piece.
        let buf = vec![b'a'; 4 << 20];
        let pieces = split(&buf, 8, |b| b == b' ');
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].as_ptr(), buf.as_ptr());
        assert_eq!(pieces[0].len(), buf.len());
    }

    #[test]
    fn a_safe_last_byte_leaves_an_empty_last_piece() {
        let pieces = split(b"abc ", 2, |b| b == b' ');
        assert_eq!(pieces, vec![&b"abc "[..], b""]);
    }
}
