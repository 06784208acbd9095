"""`make bench-corpus-merge`: how long a corpus job's merge takes, the work that runs
inside the `GET /corpora/{id}` that finds every member ended (API Gateway gives it 29 s).

Members' counts are stored on the embedded store as a worker stores them, then merged
with `service.corpora.merge_members`, as the API does. Two kinds of member:
* small: 1 to 4 KB cut from the shared books (the 10,000-file corpus's files);
* book: a whole book of the shared corpus each (cycled; 0.2 to 1.2 MB, 5,000 to 30,000
  distinct words);
* wide: book-sized with a wide vocabulary, the hard case: 40,000 words drawn from
  60,000 made-up ones (about 29,000 distinct a member, 200 KB of counts CSV).
For each kind and member count: the median of the rounds, in seconds.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import string
import tempfile
import time
from pathlib import Path

from common import corpus_files, record
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import counts_key, counts_metadata, write_counter_counts
from wordfreq_service.formats.results import SUCCESS, SUCCESS_MESSAGE
from wordfreq_service.service.corpora import Member, merge_members


def members(kind: str, count: int) -> list[bytes]:
    if kind == "wide":
        rng = random.Random(1)
        vocab = ["".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(60_000)]
        return [" ".join(rng.choices(vocab, k=40_000)).encode() for _ in range(count)]
    books = [p.read_bytes() for p in corpus_files()]
    if kind == "book":
        return [books[i % len(books)] for i in range(count)]
    blob = b"".join(books)
    cut = []
    for i in range(count):
        size = 1024 + (i * 7919) % 3072
        start = (i * 104_729) % (len(blob) - size)
        cut.append(blob[start : start + size])
    return cut


def time_merge(kind: str, count: int, rounds: int) -> float:
    request = JobRequest.make(top=10)
    with tempfile.TemporaryDirectory() as tmp:
        backend = open_embedded(Path(tmp))
        stored = []
        for i, body in enumerate(members(kind, count)):
            counter = request.new_counter(threads=1)
            counter.feed(body)
            counter.finish()
            spool = io.BytesIO()
            size = write_counter_counts(counter, spool, 0)
            spool.seek(0)
            job_id = f"{i:032x}"
            backend.store.put(counts_key(job_id), spool, counts_metadata(size))
            stored.append(Member(job_id, SUCCESS, SUCCESS_MESSAGE))
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            merge_members(backend.store, request, stored)
            times.append(time.perf_counter() - start)
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 1000])
    args = parser.parse_args()
    lines = ["| members | kind | merge (median) |", "|---:|---|---:|"]
    for kind in ("small", "book", "wide"):
        for count in args.sizes:
            seconds = time_merge(kind, count, args.rounds)
            lines.append(f"| {count:,} | {kind} | {seconds:.2f} s |")
            print(lines[-1], flush=True)
    lines.append("")
    lines.append(f"Medians of {args.rounds} rounds; the embedded store (local files).")
    record("corpus job merge (bench_corpus_merge.py)", lines)


if __name__ == "__main__":
    main()
