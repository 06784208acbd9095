"""``count --aggregate``: a corpus counted locally, each file by a counter of its own, the
counters merged (``Counter.merge``) into the sum.

Files are counted several at once on a thread pool (the core releases the GIL while it
counts): ``files_at_once`` of them, each counter with ``threads_per_file`` threads, so
that the two multiplied stay within the thread budget. A file that cannot be counted is
a failure of its own; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wordfreq_service.counting.corpus import Corpus
from wordfreq_service.counting.engine import Counter, count_file
from wordfreq_service.counting.inputs import DEFAULT_MAX_INPUT_BYTES
from wordfreq_service.errors import WordfreqError
from wordfreq_service.formats.corpus import FileStatus

if TYPE_CHECKING:
    from wordfreq_service.counting.engine import Options


@dataclass(frozen=True)
class Aggregate:
    #: The sum of every counted file's counts (finished).
    counter: Counter
    #: Each entry of the corpus, in its order.
    files: list[FileStatus]

    @property
    def failed(self) -> list[FileStatus]:
        return [f for f in self.files if not f.ok]


def split_threads(budget: int, files: int) -> tuple[int, int]:
    """``(files_at_once, threads_per_file)`` for ``files`` files on ``budget`` threads:
    one thread a file while there are more files than threads (small files gain
    nothing from more, and files side by side scale best); the threads left over shared
    out when there are fewer files."""
    budget = max(1, budget)
    at_once = max(1, min(budget, files))
    return at_once, max(1, budget // at_once)


def count_corpus(
    corpus: Corpus,
    request: Options,
    *,
    threads: int,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    on_counted: Callable[[FileStatus], None] | None = None,
) -> Aggregate:
    """Count every file of ``corpus`` on its own and sum the counts; ``on_counted`` hears
    of each file as it ends (success or failure)."""
    at_once, per_file = split_threads(threads, len(corpus.files))
    statuses: dict[int, FileStatus] = {}
    # Merging is a table's work, not a stream's: one thread.
    total = request.new_counter(threads=1)

    def count_one(path: str) -> Counter:
        return count_file(path, request, max_input_bytes=max_input_bytes, threads=per_file)

    def settle(index: int, path: str, future: Future[Counter]) -> None:
        try:
            total.merge(future.result())
            status = FileStatus.success(path)
        except MemoryError as exc:
            status = FileStatus.failure(path, str(exc) or "out of memory")
        except (WordfreqError, OSError, ValueError) as exc:
            status = FileStatus.failure(path, str(exc))
        statuses[index] = status
        if on_counted is not None:
            on_counted(status)

    work = _numbered(corpus)
    with ThreadPoolExecutor(at_once, thread_name_prefix="aggregate") as pool:
        running: dict[Future[Counter], tuple[int, str]] = {}
        for index, path, error in work:
            if error is not None:
                statuses[index] = FileStatus.failure(path, error)
                if on_counted is not None:
                    on_counted(statuses[index])
                continue
            # At most two files a thread in flight: memory for a few counters, never
            # one per file of the corpus.
            while len(running) >= 2 * at_once:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    settle(*running.pop(future), future)
            running[pool.submit(count_one, path)] = (index, path)
        for future in list(running):
            settle(*running.pop(future), future)
    total.finish()
    return Aggregate(total, [statuses[i] for i in range(len(corpus.entries))])


def _numbered(corpus: Corpus) -> Iterator[tuple[int, str, str | None]]:
    for index, (path, error) in enumerate(corpus.entries):
        yield index, path, error
