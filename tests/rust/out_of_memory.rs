//! Running out of memory while counting is an error, never an abort: this test binary's
//! allocator refuses every large allocation once armed, as a machine out of memory
//! would, and the counter must report `Error::OutOfMemory` and stay broken.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use wordfreq_core::counter::{Counter, Error};

/// Allocations at least this large fail while armed (the word table grows past it fast;
/// everything else the counter allocates is smaller).
const REFUSE_FROM: usize = 8 << 20;

static ARMED: AtomicBool = AtomicBool::new(false);
/// The size from which allocations fail while armed (a test may lower it).
static THRESHOLD: AtomicUsize = AtomicUsize::new(REFUSE_FROM);
/// The armed allocator is global: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Refusing;

unsafe impl GlobalAlloc for Refusing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= THRESHOLD.load(Ordering::Relaxed) && ARMED.load(Ordering::Relaxed) {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= THRESHOLD.load(Ordering::Relaxed) && ARMED.load(Ordering::Relaxed) {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Refusing = Refusing;

/// Feed distinct words made by `word` until the counter fails; returns the error.
fn feed_until_failure(mode: &str, word: impl Fn(u64) -> String) -> (Counter, Error) {
    let mut counter = Counter::new(mode, None, 1000).unwrap();
    for start in (0..10_000_000u64).step_by(10_000) {
        let chunk: String = (start..start + 10_000).map(|i| word(i) + " ").collect();
        ARMED.store(true, Ordering::Relaxed);
        let result = counter.feed(chunk.as_bytes());
        ARMED.store(false, Ordering::Relaxed);
        if let Err(e) = result {
            return (counter, e);
        }
    }
    panic!("the word table never needed a large allocation");
}

/// A letters-only spelling of `i` (digits separate words in `words` mode).
fn letters(mut i: u64) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            return s;
        }
    }
}

#[test]
fn short_words_fill_the_table_then_out_of_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    for mode in ["words", "seed"] {
        let (mut counter, err) = feed_until_failure(mode, |i| format!("x{}", letters(i)));
        assert_eq!(err, Error::OutOfMemory, "{mode}");
        // Broken for good: its counts are incomplete.
        assert_eq!(counter.feed(b"more").unwrap_err(), Error::OutOfMemory);
        assert_eq!(counter.finish().unwrap_err(), Error::OutOfMemory);
        assert!(counter.report(Some(10), 1, |_| false).is_err());
        assert!(err.to_string().contains("out of memory"));
    }
}

#[test]
fn long_words_fill_their_map_then_out_of_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let (_, err) = feed_until_failure("words", |i| format!("longwordnumber{}", letters(i)));
    assert_eq!(err, Error::OutOfMemory);
}

#[test]
fn merging_into_a_table_that_cannot_grow_is_out_of_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let mut big = Counter::new("seed", None, 1000).unwrap();
    let words: String = (0..600_000u64).map(|i| format!("token{i} ")).collect();
    big.feed(words.as_bytes()).unwrap();
    big.finish().unwrap();
    let mut small = Counter::new("seed", None, 1000).unwrap();
    small.feed(b"alpha").unwrap();
    ARMED.store(true, Ordering::Relaxed);
    let result = small.merge(&mut big);
    ARMED.store(false, Ordering::Relaxed);
    assert_eq!(result.unwrap_err(), Error::OutOfMemory);
}

#[test]
fn a_long_word_whose_key_cannot_be_allocated_is_out_of_memory() {
    // Seed mode keeps tokens up to 64 KiB: storing a new one is an allocation of its own,
    // and the one that grows with the vocabulary. (The scanner's scratch buffers, bounded
    // by the limit, are warmed by a first token so that only the key is refused.)
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let mut counter = Counter::new("seed", None, 65536).unwrap();
    counter.feed(("x".repeat(40_000) + " ").as_bytes()).unwrap();
    let new_word = "y".repeat(40_000) + " ";
    THRESHOLD.store(32 << 10, Ordering::Relaxed);
    ARMED.store(true, Ordering::Relaxed);
    let result = counter.feed(new_word.as_bytes());
    ARMED.store(false, Ordering::Relaxed);
    THRESHOLD.store(REFUSE_FROM, Ordering::Relaxed);
    assert_eq!(result.unwrap_err(), Error::OutOfMemory);
}
