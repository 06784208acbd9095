"""Type stub for the native counting core (Rust, built by maturin).

The pure-Python twin with the same API and semantics is ``wordfreq_service.counting.reference``.
"""

from collections.abc import Collection, Iterable
from typing import Final, final

from _typeshed import SupportsWrite

__all__ = [
    "DEFAULT_MAX_WORD_LENGTH",
    "ENCODINGS",
    "FILE_MIN_RANGE",
    "MAX_NGRAMS",
    "MAX_THREADS",
    "MAX_WORD_LENGTH_LIMIT",
    "MODES",
    "SEGMENT_RUN_BOUND",
    "SPLIT_SAFE_BYTES",
    "Counter",
    "__version__",
    "_file_pieces_for_tests",
    "_panic_for_tests",
    "cores",
    "detect_language",
    "normalize_word",
    "segment",
]

__version__: str

#: The counting modes, the default first: ``("words", "seed")``.
MODES: Final[tuple[str, ...]]
#: The encodings ``words`` mode can be forced to: ``("utf-8", "cp1252", "latin-1", "utf-16")``.
ENCODINGS: Final[tuple[str, ...]]
#: Longest word counted by default, per mode: ``{"words": 1000, "seed": 65536}`` (code
#: points in ``words`` mode; bytes in ``seed`` mode, where Go's scanner gave up).
DEFAULT_MAX_WORD_LENGTH: Final[dict[str, int]]
#: Largest ``max_word_length`` accepted (65536, Go's ``bufio.MaxScanTokenSize``).
MAX_WORD_LENGTH_LIMIT: Final[int]
#: Most threads a counter may be asked to use (256).
MAX_THREADS: Final[int]
#: Longest sequence of words ``ngrams`` may ask for (5).
MAX_NGRAMS: Final[int]
#: The least bytes ``Counter.feed_file`` gives one range (1 MiB), and the least bytes of
#: a big object's part (``counting/ranges.py``).
FILE_MIN_RANGE: Final[int]
#: Per mode, the bytes after which input can be cut and the rest counted by a fresh
#: counter (``at_start=False``) with exactly the same total counts: ASCII bytes that
#: always end a word and leave nothing pending (in ``words`` mode, whatever the decoding
#: but UTF-16, which is never cut).
SPLIT_SAFE_BYTES: Final[dict[str, bytes]]
#: Code points of a part in a script written without spaces segmented at a time (4096):
#: past it, every segment but the last is final (README "Every script").
SEGMENT_RUN_BOUND: Final[int]

@final
class Counter:
    """A streaming word counter.

    ``mode`` is ``"words"`` or ``"seed"``; ``encoding`` is ``None`` (detect:
    BOM, else UTF-8 with per-byte Windows-1252 fallback) or one of ``"utf-8"``,
    ``"cp1252"``, ``"latin-1"``, ``"utf-16"`` (``words`` mode only; ``seed`` mode reads
    raw bytes as the Go worker did). Unknown values raise ``ValueError``.

    A word longer than ``max_word_length`` (1 to ``MAX_WORD_LENGTH_LIMIT``, else
    ``ValueError``; ``None``: the mode's ``DEFAULT_MAX_WORD_LENGTH``) is not counted:
    ``skipped`` counts such runs instead. The length is in code points of the word as
    found in the decoded input, joining apostrophes included, before normalisation
    (``words`` mode), or in bytes of the raw token before lowercasing and trimming
    (``seed`` mode). Memory grows with the vocabulary, never with the length of a run or
    of the input.

    Feed byte chunks of any size: a word may straddle chunks. The first query (or
    ``finish()``) ends the input; feeding after that raises ``ValueError``.

    ``at_start=False``: the input begins in the middle of a stream, just after one of
    ``SPLIT_SAFE_BYTES[mode]`` (a range of a split file other than the first). No BOM is
    looked for: in ``words`` mode without an encoding the input is UTF-8 with the
    Windows-1252 fallback from its first byte, and EF BB BF is U+FEFF, a separator, as
    anywhere past the start. ``encoding="utf-16"`` with ``at_start=False`` is a
    ``ValueError`` (UTF-16 is never cut).

    ``threads``: how many threads count a large chunk (``None`` or 0: one per core; 1:
    the caller's thread only; at most ``MAX_THREADS``, else ``ValueError``).

    ``ngrams``: count sequences of this many consecutive words (``None`` or 1: single
    words; at most ``MAX_NGRAMS``; above 1 in ``words`` mode only, else ``ValueError``),
    each as its words joined by one space. A sequence never spans a sentence end, a
    paragraph break, a skipped run or the end of the input (the rules:
    ``counting/reference.py``). Above 1 the input is counted on one thread whatever
    ``threads`` says (a sequence may span any split point), and ``report`` keeps an
    n-gram only when each of its words passes the filters on its own.

    ``MemoryError``: the word table could not grow (the counts would be incomplete).
    ``RuntimeError``: a bug in the core (a caught panic). After either, every call raises
    the same error again.
    """

    def __new__(
        cls,
        mode: str,
        encoding: str | None = None,
        max_word_length: int | None = None,
        *,
        at_start: bool = True,
        threads: int | None = None,
        ngrams: int | None = None,
    ) -> Counter: ...
    @property
    def mode(self) -> str: ...
    @property
    def threads(self) -> int:
        """The number of threads a large chunk is counted on (``threads`` resolved)."""
    @property
    def finished(self) -> bool: ...
    @property
    def max_word_length(self) -> int: ...
    @property
    def ngrams(self) -> int:
        """Words per counted sequence (1: single words)."""
    @property
    def skipped(self) -> int:
        """Runs longer than ``max_word_length``, not counted. A query: reading it ends
        the input (a run still open at the end of the input so far may yet be either)."""
    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Count a chunk (any bytes-like object; ``bytes`` is not copied).

        Releases the GIL; large chunks are split across all cores."""
    def feed_file(self, fd: int, size: int) -> None:
        """Count the regular file open at ``fd``, ``size`` bytes long when measured, as
        this counter's whole input, then finish (a counter that has had input already is
        a ``ValueError``; so is anything but a regular file).

        Without the GIL and with positional reads (``fd``'s offset is neither used nor
        moved): counted on ``threads`` threads (never more than ``cores()``), each with
        its own table, the tables merged at the end. ``size`` is cut into nominal pieces
        (64 per thread, each at least ``FILE_MIN_RANGE``) that the threads take in turn,
        each piece's boundaries resolved by the rule of ``counting/ranges.py``, so the
        counts are exactly those of feeding the same bytes. The last piece reads on to
        the end of the file: a file that has grown since ``size`` was taken is counted
        whole, as streaming it would be. Each thread costs one 2 MiB read buffer and a
        word table of its own until the end; a file with no safe byte is read about
        twice, not once per thread. UTF-16 input (by BOM, or forced) is read by one
        sequential reader. ``OSError`` when reading fails, or when the file ends before
        ``size`` bytes (it shrank). Ctrl-C is answered within about 32 MiB of reading:
        the count stops and ``KeyboardInterrupt`` is raised (the counter is then
        unusable)."""
    def _set_file_ranges_for_tests(self, min_range: int, read_buffer: int) -> None:
        """``feed_file`` with pieces of at least ``min_range`` bytes, read
        ``read_buffer`` bytes at a time, on as many threads as ``threads`` even beyond
        ``cores()`` (for tests: small files on many threads)."""
    def _set_parallel_min_for_tests(self, min_bytes: int) -> None:
        """Split chunks of at least ``min_bytes`` (1 MiB otherwise) across ``threads``
        (for tests and the fuzzer: the parallel path on small inputs)."""
    def finish(self) -> None:
        """End of input: count whatever is still pending. Idempotent."""
    def merge(self, other: Counter) -> None:
        """Add ``other``'s counts and skipped runs into this counter (both are finished
        first; same mode)."""
    def merge_csv(
        self, chunks: Iterable[bytes | bytearray | memoryview], *, skipped: int = 0
    ) -> None:
        """Add the counts of a counts CSV and ``skipped`` runs into this counter
        (finished first, as ``merge`` does).

        ``chunks`` is the CSV's text (decompressed) as ``write_csv`` writes it after a
        ``word,count`` header, in pieces that may cut a row or a character anywhere; it
        is read as Python's ``csv`` module reads it (quoted fields may hold ``,``,
        doubled ``"`` and line breaks; rows end with ``\\n`` or ``\\r\\n``; the last may
        lack it). A malformed CSV (no header, an empty line, not two fields, a word not
        UTF-8 or too long, a count not from 1 to 2**64-1) is a ``ValueError`` naming the
        line, and then nothing is added (nor when ``chunks`` raises, which propagates).
        Counts add up saturating at 2**64-1. Memory grows with the vocabulary only."""
    def report(
        self,
        top: int | None,
        min_length: int,
        stopwords: Collection[str] | None = None,
    ) -> tuple[int, int, list[tuple[str, int]]]:
        """``(total, unique, words)`` over the words that pass the filters.

        ``words`` holds the ``top`` most frequent (all of them when ``top`` is None),
        ordered by count descending, then word ascending by code point.
        ``min_length`` counts characters (code points) of the normalised word.
        """
    def write_csv(
        self,
        out: SupportsWrite[bytes],
        min_length: int,
        stopwords: Collection[str] | None = None,
        *,
        header: bytes | None = None,
        gzip_level: int | None = None,
    ) -> int:
        """Write ``header``, then every word ``report(None, min_length, stopwords)``
        keeps, in its order, as CSV rows ``word,count`` ending ``\\n`` (quoted as
        Python's ``csv.writer`` quotes them), to the binary file ``out``; gzip-compressed
        (mtime 0) at ``gzip_level`` (0 to 9, else ``ValueError``) when given. Returns the
        bytes of CSV written, uncompressed.

        The bytes go to ``out.write`` in pieces of about 64 KiB (a ``write`` that takes
        only part of one is given the rest); no Python object is made per word, and the
        GIL is released while rows are formatted and compressed. ``OSError`` when ``out``
        takes nothing."""
    def counts(self) -> dict[str, int]:
        """Every word with its count, unfiltered."""

def _file_pieces_for_tests(
    fd: int, size: int, mode: str, parts: int, read_buffer: int
) -> list[bytes]:
    """The pieces ``feed_file`` counts for ``parts`` ranges of the first ``size`` bytes
    of the file open at ``fd``, read ``read_buffer`` bytes at a time (for tests: the
    core's boundary rule against ``counting/ranges.py``'s)."""

def _panic_for_tests(in_thread_pool: bool = False) -> None:
    """Panic inside the core on purpose (on a worker thread when ``in_thread_pool``):
    raises the ``RuntimeError`` a bug in the core would raise."""

def cores() -> int:
    """The cores this process may use (CPU affinity and cgroup quota, as Rust's
    ``available_parallelism``): the default thread count."""

def normalize_word(word: str) -> str:
    """``word`` normalised as ``words`` mode normalises the words it counts (U+2019 to
    U+0027, full lowercase with final sigma, NFC)."""

def detect_language(text: str) -> tuple[str | None, float, bool]:
    """The language of ``text`` as whatlang tells it: ``(ISO 639-1 code, confidence from
    0 to 1, reliable)``, or ``(None, 0.0, False)`` when it finds none."""

def segment(text: str) -> list[tuple[str, bool]]:
    """The segments of ``text`` (they cover it, in order) by the segmenter ``words`` mode
    uses for the scripts written without spaces (ICU4X's dictionary segmenter: Unicode's
    word-break rules plus ICU's Chinese/Japanese, Thai, Lao, Khmer and Burmese
    dictionaries), each with whether it is word-like."""
