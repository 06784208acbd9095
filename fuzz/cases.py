"""One fuzz input, decoded into a use of the native core, checked against the reference.

``check(data)`` is the whole oracle: the fuzzer (``fuzz/fuzz_core.py``) calls it on every
input it makes, and ``tests/test_fuzz_corpus.py`` replays the kept inputs through it.
The first four bytes of an input choose what to do with the rest (the payload), so that
every input, however mutated, is a valid case and replays the same way:

- byte 0: bits 0-2 the kind of use (``KINDS``), bit 3 ``seed`` mode, bits 4-6 the
  encoding (``words`` mode; ``ENCODINGS``), bit 7 ``at_start=False`` (streamed input);
- byte 1: ``max_word_length`` (0: the mode's default);
- byte 2: threads (1 to 4) and the least chunk split across them (small, so that small
  inputs reach the parallel path);
- byte 3: the seed of the choices left (where chunks are cut, ``report``'s arguments).

Any disagreement raises ``Mismatch`` naming the case; a crash in the core (a panic is a
``RuntimeError``) propagates as it is.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterator
from typing import NamedTuple

from wordfreq_service import _core
from wordfreq_service.counting import reference
from wordfreq_service.counting.ranges import range_chunks

KINDS = ("stream", "stream", "stream", "file", "ranges", "csv", "merge", "stream")
ENCODINGS: tuple[str | None, ...] = (None, "utf-8", "cp1252", "latin-1", "utf-16", None, None, None)
HEADER = b"word,count\n"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class Mismatch(AssertionError):
    """The core and the reference disagree on a case."""


class Case(NamedTuple):
    kind: str
    mode: str
    encoding: str | None
    at_start: bool
    max_word_length: int | None
    threads: int
    parallel_min: int
    seed: int
    payload: bytes

    def __str__(self) -> str:
        # The payload in full is in the saved input; a message shows its start.
        head = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items() if k != "payload")
        shown = self.payload[:120]
        more = f"... ({len(self.payload)} bytes)" if len(self.payload) > len(shown) else ""
        return f"Case({head}, payload={shown!r}{more})"


def decode(data: bytes) -> Case:
    """The case an input stands for (every input is one)."""
    head = data[:4].ljust(4, b"\0")
    flags, limit, threads, seed = head
    mode = "seed" if flags & 0x08 else "words"
    encoding = ENCODINGS[(flags >> 4) & 7] if mode == "words" else None
    at_start = not flags & 0x80
    if encoding == "utf-16":
        at_start = True  # UTF-16 is never cut: at_start=False with it is a ValueError
    return Case(
        kind=KINDS[flags & 7],
        mode=mode,
        encoding=encoding,
        at_start=at_start,
        max_word_length=limit or None,
        threads=1 + threads % 4,
        parallel_min=1 + (threads >> 2),
        seed=seed,
        payload=data[4:],
    )


def encode(case: Case) -> bytes:
    """The input ``decode`` reads back as ``case`` (for writing regression inputs)."""
    flags = KINDS.index(case.kind) | (0x08 if case.mode == "seed" else 0)
    flags |= ENCODINGS.index(case.encoding) << 4 | (0 if case.at_start else 0x80)
    threads = (case.threads - 1) | (case.parallel_min - 1) << 2
    return bytes((flags, case.max_word_length or 0, threads, case.seed)) + case.payload


def _core_counter(case: Case, *, at_start: bool | None = None) -> _core.Counter:
    counter = _core.Counter(
        case.mode,
        case.encoding,
        case.max_word_length,
        at_start=case.at_start if at_start is None else at_start,
        threads=case.threads,
    )
    counter._set_parallel_min_for_tests(case.parallel_min)
    return counter


def _ref_counter(case: Case, *, at_start: bool | None = None) -> reference.Counter:
    return reference.Counter(
        case.mode,
        case.encoding,
        case.max_word_length,
        at_start=case.at_start if at_start is None else at_start,
    )


def _cuts(rng: random.Random, size: int) -> list[int]:
    """Where to cut ``size`` bytes into chunks: nowhere, at every byte, or at a few
    random places (repeats make empty chunks)."""
    shape = rng.randrange(4)
    if shape == 0 or size == 0:
        return []
    if shape == 1:
        return list(range(1, size))
    return sorted(rng.randint(0, size) for _ in range(rng.randint(1, 8)))


def _chunks(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    start = 0
    for cut in cuts:
        yield data[start:cut]
        start = cut
    yield data[start:]


def _expect(case: Case, what: str, got: object, want: object) -> None:
    if got != want:
        raise Mismatch(f"{what}: core {got!r} != reference {want!r} for {case}")


def _compare(
    case: Case, rng: random.Random, core: _core.Counter, ref: reference.Counter, what: str
) -> None:
    """Every query of a finished count: counts, skipped, report and the CSV written."""
    want = ref.counts()
    _expect(case, f"{what}: counts", core.counts(), want)
    _expect(case, f"{what}: skipped", core.skipped, ref.skipped)
    words = sorted(want)
    stop = set(rng.sample(words, rng.randint(0, len(words)))) if words else set()
    # Words that are not as counted (upper case, a prefix) must filter nothing.
    stop |= {w.upper() for w in rng.sample(words, min(2, len(words)))}
    top = rng.choice([None, 0, 1, 3, 10])
    min_length = rng.randrange(5)
    args = (top, min_length, stop)
    _expect(case, f"{what}: report{args!r}", core.report(*args), ref.report(*args))
    level = rng.choice([None, None, 0, 1, 6])
    got_out, want_out = io.BytesIO(), io.BytesIO()
    got_n = core.write_csv(got_out, min_length, stop, header=HEADER, gzip_level=level)
    want_n = ref.write_csv(want_out, min_length, stop, header=HEADER)
    got_csv = got_out.getvalue() if level is None else gzip.decompress(got_out.getvalue())
    _expect(
        case, f"{what}: write_csv (gzip {level})", (got_n, got_csv), (want_n, want_out.getvalue())
    )
    # What write_csv wrote, read back by merge_csv, is the same counts again.
    back = _core.Counter(case.mode)
    back.merge_csv(_chunks(got_csv, _cuts(rng, len(got_csv))))
    kept = ref.report(None, min_length, stop)[2]
    _expect(case, f"{what}: merge_csv of write_csv", back.counts(), dict(kept))


def _check_stream(case: Case, rng: random.Random) -> None:
    core = _core_counter(case)
    for chunk in _chunks(case.payload, _cuts(rng, len(case.payload))):
        core.feed(chunk)
    ref = _ref_counter(case)
    ref.feed(case.payload)
    _compare(case, rng, core, ref, "stream")


def _check_file(case: Case, rng: random.Random) -> None:
    with tempfile.TemporaryFile(dir=_scratch()) as f:
        f.write(case.payload)
        f.flush()
        core = _core_counter(case, at_start=True)
        # Ranges of a few bytes, read a few bytes at a time: many boundaries to resolve.
        core._set_file_ranges_for_tests(rng.randint(1, 64), rng.randint(1, 64))
        core.feed_file(f.fileno(), len(case.payload))
    ref = _ref_counter(case, at_start=True)
    ref.feed(case.payload)
    _compare(case, rng, core, ref, "feed_file")


def _unsplittable(case: Case) -> bool:
    if case.mode != "words":
        return False
    return case.encoding == "utf-16" or (
        case.encoding is None and case.payload.startswith(_UTF16_BOMS)
    )


def _check_ranges(case: Case, rng: random.Random) -> None:
    """Nominal cuts resolved by ``counting/ranges.py``'s rule, the first range counted
    from the start and the others with ``at_start=False``, merged: the counts of the
    whole input."""
    if _unsplittable(case):
        _check_stream(case, rng)
        return
    data = case.payload
    cuts = [0, *sorted(rng.randint(1, max(1, len(data))) for _ in range(rng.randint(1, 6)))]
    cuts.append(len(data))
    total = _core_counter(case, at_start=True)
    total.finish()
    for start, end in itertools.pairwise(cuts):
        if start >= end:
            continue
        begin = max(start - 1, 0)
        piece = b"".join(range_chunks([data[begin:]], start, end, case.mode))
        part = _core_counter(case, at_start=start == 0)
        for chunk in _chunks(piece, _cuts(rng, len(piece))):
            part.feed(chunk)
        total.merge(part)
    ref = _ref_counter(case, at_start=True)
    ref.feed(data)
    _compare(case, rng, total, ref, "ranges")


def _check_merge(case: Case, rng: random.Random) -> None:
    """Two counts merged (and one merged into itself), as the core and the reference
    merge them."""
    cut = rng.randint(0, len(case.payload))
    first, second = case.payload[:cut], case.payload[cut:]
    core, core_other = _core_counter(case), _core_counter(case)
    ref, ref_other = _ref_counter(case), _ref_counter(case)
    for counter, data in ((core, first), (core_other, second)):
        for chunk in _chunks(data, _cuts(rng, len(data))):
            counter.feed(chunk)
    ref.feed(first)
    ref_other.feed(second)
    core.merge(core_other)
    ref.merge(ref_other)
    if rng.random() < 0.3:
        core.merge(core)
        ref.merge(ref)
    _compare(case, rng, core, ref, "merge")


def _lone_cr(text: bytes) -> bool:
    """A ``\\r`` not followed by ``\\n``: the core refuses one as a row's end (rows end
    with ``\\n`` or ``\\r\\n``), where Python's ``csv`` module, which the reference
    reads with, takes it; inside quotes it is text to both."""
    return re.search(rb"\r(?!\n)", text) is not None


def _check_csv(case: Case, rng: random.Random) -> None:
    """The payload as a counts CSV, merged into a count: the core accepts what the
    reference accepts and adds the same; a refused CSV adds nothing."""
    text, skipped = case.payload, rng.randrange(3)
    core, ref = _core_counter(case), _ref_counter(case)
    for counter in (core, ref):
        counter.feed(b"Seeded counts, seeded here ")
    before, before_skipped = core.counts(), core.skipped
    try:
        ref.merge_csv([text], skipped=skipped)
    except ValueError:
        refused = True
    else:
        refused = False
    try:
        core.merge_csv(_chunks(text, _cuts(rng, len(text))), skipped=skipped)
    except ValueError as e:
        if not refused and not _lone_cr(text):
            raise Mismatch(f"merge_csv refused a valid CSV ({e}) for {case}") from None
        _expect(case, "refused merge_csv: counts", core.counts(), before)
        _expect(case, "refused merge_csv: skipped", core.skipped, before_skipped)
        return
    if refused:
        raise Mismatch(f"merge_csv accepted a malformed CSV for {case}")
    _expect(case, "merge_csv: counts", core.counts(), ref.counts())
    _expect(case, "merge_csv: skipped", core.skipped, ref.skipped)


CHECKS: dict[str, Callable[[Case, random.Random], None]] = {
    "stream": _check_stream,
    "file": _check_file,
    "ranges": _check_ranges,
    "merge": _check_merge,
    "csv": _check_csv,
}

_SCRATCH: list[str] = []


def _scratch() -> str:
    """A directory for ``feed_file``'s temporary files (the fuzzer's own, else the
    system's)."""
    if not _SCRATCH:
        _SCRATCH.append(os.environ.get("WORDFREQ_FUZZ_TMP") or tempfile.gettempdir())
    return _SCRATCH[0]


def check(data: bytes) -> None:
    """Run the case ``data`` stands for; ``Mismatch`` when the core and the reference
    disagree."""
    case = decode(data)
    CHECKS[case.kind](case, random.Random(case.seed))
