"""Byte ranges of one large input, each counted on its own, adding up exactly.

The boundary rule, the one every splitter follows (the worker's ranged jobs here, the
native core's ``Counter.feed_file`` threads): a nominal cut at ``p`` (``0 < p < size``)
moves to just after the first safe byte (``_core.SPLIT_SAFE_BYTES[mode]``) at or after
``p - 1``, or to the end of the object when there is none. A range ``[start, end)`` so
counts the bytes from its resolved start to its resolved end: the ranges tile the object,
no word or character is cut (safe bytes are ASCII and end every word), and a range whose
nominal bytes hold no safe byte before ``end - 1`` is empty (its words belong to the
range before). A range other than the first is counted by a counter made with
``at_start=False``.

Finding a range's start reads at most its own nominal bytes; finding its end reads on
past ``end`` only as far as the first safe byte, so a hostile object (one huge run) is
read about twice in all, not once per range.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import TYPE_CHECKING

from wordfreq_service import _core
from wordfreq_service.counting.inputs import sniff_compression
from wordfreq_service.documents.sniff import is_document

if TYPE_CHECKING:
    from wordfreq_service.formats.job_request import JobRequest

__all__ = [
    "DEFAULT_SPLIT_THRESHOLD",
    "MAX_PARTS",
    "MIN_PART_BYTES",
    "MIN_SPLIT_THRESHOLD",
    "SPLIT_THRESHOLD_ENV",
    "is_utf16",
    "plan_ranges",
    "range_chunks",
    "read_offset",
    "unsplittable",
]

#: An object larger than this is split into byte ranges that any worker counts
#: (``service/worker/split.py``); ranges are about half of it. Here, not among the
#: worker's settings: the client's ``--split-threshold`` shows it without loading the worker.
DEFAULT_SPLIT_THRESHOLD = 256 << 20
#: Where the worker container reads the threshold from (the stack sets it).
SPLIT_THRESHOLD_ENV = "WORKER_SPLIT_THRESHOLD"
#: The most ranges one object is split into; a bigger object gets longer ranges. Bounds
#: the range tasks an object makes and its progress record (a DynamoDB item holds at most
#: 400 KB: about 40,000 parts).
MAX_PARTS = 10_000

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF16: str = "utf-16"


#: The least bytes of a part, the core's least range: a tiny threshold must not make
#: millions of parts (1 byte on 2 GB would make 2e9). Read at each call, so that tests of
#: the split machinery can lower it to cut small objects into many parts.
MIN_PART_BYTES: int = _core.FILE_MIN_RANGE
#: The lowest threshold a worker takes (``--split-threshold``): its ranges, about half of
#: it, are then at least ``MIN_PART_BYTES`` as planned (1 MiB), not a flood of tiny tasks.
MIN_SPLIT_THRESHOLD: int = 2 * _core.FILE_MIN_RANGE


def plan_ranges(size: int, threshold: int) -> list[tuple[int, int]]:
    """The nominal ranges ``[start, end)`` of an object of ``size`` bytes: one when
    ``size <= threshold``, else equal ranges of about ``threshold / 2`` bytes (so that
    an object just over the threshold still makes parts well under it), but never under
    ``MIN_PART_BYTES`` (1 MiB), and never more than ``MAX_PARTS`` of them (then longer)."""
    if size < 0 or threshold < 1:
        raise ValueError("size must be 0 or more and threshold 1 or more")
    if size <= threshold:
        return [(0, size)]
    part = max(1, threshold // 2)
    count = min(-(-size // part), max(1, size // MIN_PART_BYTES), MAX_PARTS)
    cuts = [size * k // count for k in range(count + 1)]
    return list(itertools.pairwise(cuts))


def read_offset(start: int) -> int:
    """Where reading for the range starting at ``start`` must begin: one byte early, so
    that the byte before the cut can be looked at."""
    return max(start - 1, 0)


@cache
def _safe_pattern(mode: str) -> re.Pattern[bytes]:
    try:
        safe = _core.SPLIT_SAFE_BYTES[mode]
    except KeyError:
        raise ValueError(f"unknown mode {mode!r}") from None
    return re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in safe) + b"]")


def range_chunks(chunks: Iterable[bytes], start: int, end: int, mode: str) -> Iterator[bytes]:
    """The bytes of the range ``[start, end)``'s piece, from ``chunks``: the object's
    bytes from ``read_offset(start)`` on, to its end or further than needed. Stops
    reading as soon as the piece is complete."""
    if not 0 <= start <= end:
        raise ValueError(f"not a range: [{start}, {end})")
    safe = _safe_pattern(mode)
    if start == end:
        return
    pos = read_offset(start)  # the object offset of the next byte of ``chunks``
    it = iter(chunks)
    if start > 0:
        # The piece starts after the first safe byte in [start - 1, end - 1); with none
        # there, the cut at ``end`` resolves to the same place and the piece is empty.
        for chunk in it:
            limit = min(len(chunk), end - 1 - pos)
            found = safe.search(chunk, 0, max(limit, 0))
            if found is not None:
                chunk = chunk[found.end() :]
                pos += found.end()
                break
            pos += len(chunk)
            if pos >= end - 1:
                return
        else:
            return
        it = _prepend(chunk, it)
    # The piece ends after the first safe byte at or after ``end - 1``.
    for chunk in it:
        skip = max(end - 1 - pos, 0)
        if skip >= len(chunk):
            if chunk:
                yield chunk
            pos += len(chunk)
            continue
        found = safe.search(chunk, skip)
        if found is None:
            if chunk:
                yield chunk
            pos += len(chunk)
            continue
        if found.end():
            yield chunk[: found.end()]
        return


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def unsplittable(head: bytes, request: JobRequest) -> str | None:
    """Why an object whose first bytes are ``head`` (at least 6 of them unless the
    object is shorter) cannot be cut into ranges under ``request``, or None when it can."""
    compression = sniff_compression(head)
    if compression is not None:
        return f"{compression}-compressed input cannot be split"
    if is_utf16(head, request):
        return "UTF-16 input cannot be split"
    if request.ngrams > 1:
        # A phrase may run across any cut: no byte ends one for sure.
        return "phrases (ngrams above 1) cannot be split"
    if request.extracts and is_document(head, request.document_format):
        return "a document's text is extracted from the whole: it cannot be split"
    return None


def is_utf16(head: bytes, request: JobRequest) -> bool:
    """Whether an input whose first bytes are ``head`` is read as UTF-16 under ``request``."""
    return request.mode == "words" and (
        request.encoding == _UTF16 or (request.encoding is None and head.startswith(_UTF16_BOMS))
    )
