"""The MessageQueue contract, for every backend.

Visibility timeouts are 0-1 s so the suite stays fast; the only timing assertions are
"arrives within a generous bound".
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter

import pytest
from wordfreq_service.adapters.embedded import SqliteDatabase, SqliteQueue
from wordfreq_service.errors import ReceiptHandleInvalid
from wordfreq_service.ports import DEFAULT_MAX_RECEIVE_COUNT, MAX_DELAY_S, Message, MessageQueue

from tests.contract.conftest import LONG_VISIBILITY_S, SHORT_VISIBILITY_S, Queues
from tests.contract.consumers import consume, consume_embedded

GENEROUS_S = 8


def receive_all(queue: MessageQueue, count: int, **options: int) -> list[Message]:
    """Receive until ``count`` messages arrived (SQS may return fewer than asked)."""
    received: list[Message] = []
    deadline = time.monotonic() + GENEROUS_S
    while len(received) < count and time.monotonic() < deadline:
        received += queue.receive(min(10, count - len(received)), wait_seconds=1, **options)
    assert len(received) == count, f"{len(received)} of {count} arrived"
    return received


def test_send_receive_round_trip(queues: Queues) -> None:
    body = '{"job": "ünï ☃", "n": 1}\n' + "x" * 10_000
    before = time.time()
    message_id = queues.queue.send(body)

    [message] = receive_all(queues.queue, 1)

    assert (message.message_id, message.body, message.receive_count) == (message_id, body, 1)
    assert before - 2 <= message.sent_timestamp <= time.time() + 2
    assert message.receipt_handle


def test_receive_returns_at_most_ten(queues: Queues) -> None:
    for i in range(12):
        queues.queue.send(str(i))
    first = queues.queue.receive(10, wait_seconds=1)
    assert 1 <= len(first) <= 10
    rest = receive_all(queues.queue, 12 - len(first))
    assert sorted(int(m.body) for m in first + rest) == list(range(12))
    for wrong in (0, 11):
        with pytest.raises(ValueError):
            queues.queue.receive(wrong)


def test_long_poll_returns_early_when_a_message_arrives(queues: Queues) -> None:
    sender = threading.Timer(0.5, queues.queue.send, args=("late",))
    started = time.monotonic()
    sender.start()
    try:
        messages = queues.queue.receive(wait_seconds=15)
    finally:
        sender.join()
    assert [m.body for m in messages] == ["late"]
    assert time.monotonic() - started < GENEROUS_S


def test_long_poll_on_an_empty_queue_returns_nothing(queues: Queues) -> None:
    assert queues.queue.receive(wait_seconds=1) == []


def test_visibility_timeout_expiry_redelivers(queues: Queues) -> None:
    queues.queue.send("again")
    [first] = queues.queue.receive(visibility_timeout=1)
    assert queues.queue.receive() == []  # hidden while the timeout runs

    [second] = receive_all(queues.queue, 1)

    assert (second.message_id, second.receive_count) == (first.message_id, 2)
    assert second.receipt_handle != first.receipt_handle


def test_visibility_timeout_is_the_queues_own(queues: Queues) -> None:
    assert queues.queue.visibility_timeout() == LONG_VISIBILITY_S


def test_a_receive_naming_no_timeout_hides_for_the_queues_own(short_queue: MessageQueue) -> None:
    assert short_queue.visibility_timeout() == SHORT_VISIBILITY_S
    short_queue.send("back soon")
    received_at = time.monotonic()  # or a moment later
    [first] = short_queue.receive(wait_seconds=1)
    assert short_queue.receive() == []  # hidden while the queue's timeout runs
    [second] = receive_all(short_queue, 1)
    assert time.monotonic() >= received_at + SHORT_VISIBILITY_S
    assert (second.message_id, second.receive_count) == (first.message_id, 2)


def test_a_delayed_message_stays_hidden_for_its_delay(queues: Queues) -> None:
    sent_at = time.monotonic()
    queues.queue.send("later", delay_seconds=2)
    queues.queue.send("now")
    [first] = queues.queue.receive(10, wait_seconds=1)
    assert first.body == "now"  # the delayed one is not visible yet

    [later] = receive_all(queues.queue, 1)
    assert later.body == "later"
    assert time.monotonic() >= sent_at + 2


def test_a_delay_sqs_would_refuse_is_refused(queues: Queues) -> None:
    with pytest.raises(ValueError, match="delay_seconds"):
        queues.queue.send("never", delay_seconds=MAX_DELAY_S + 1)


def test_change_visibility_to_zero_makes_it_visible_at_once(queues: Queues) -> None:
    queues.queue.send("now")
    [first] = queues.queue.receive(visibility_timeout=30)
    queues.queue.change_visibility(first.receipt_handle, 0)
    [second] = queues.queue.receive()
    assert (second.message_id, second.receive_count) == (first.message_id, 2)


def test_deleted_message_does_not_come_back(queues: Queues) -> None:
    queues.queue.send("once")
    [message] = queues.queue.receive(visibility_timeout=1)
    queues.queue.delete(message.receipt_handle)
    assert queues.queue.receive(wait_seconds=2) == []
    assert queues.queue.approximate_count() == 0


def test_unknown_receipt_handle_is_rejected(queues: Queues) -> None:
    with pytest.raises(ReceiptHandleInvalid):
        queues.queue.delete("not-a-receipt-handle")
    with pytest.raises(ReceiptHandleInvalid):
        queues.queue.change_visibility("not-a-receipt-handle", 5)


@pytest.mark.only_backend(
    "embedded",
    reason="SQS answers success to a stale handle without deleting (moto even deletes)",
)
def test_stale_receipt_handle_is_rejected(queues: Queues) -> None:
    queues.queue.send("twice")
    [first] = queues.queue.receive(visibility_timeout=0)
    [second] = queues.queue.receive(visibility_timeout=30)
    with pytest.raises(ReceiptHandleInvalid):
        queues.queue.delete(first.receipt_handle)
    queues.queue.delete(second.receipt_handle)
    with pytest.raises(ReceiptHandleInvalid):
        queues.queue.delete(second.receipt_handle)


def test_delete_batch_reports_failures_per_entry(queues: Queues) -> None:
    for body in ("a", "b", "c"):
        queues.queue.send(body)
    a, b, c = receive_all(queues.queue, 3, visibility_timeout=1)

    failed = queues.queue.delete_batch([a.receipt_handle, "bogus-handle", b.receipt_handle])

    assert failed == ["bogus-handle"]
    assert queues.queue.delete_batch([]) == []
    with pytest.raises(ValueError):
        queues.queue.delete_batch([c.receipt_handle] * 11)
    # c was not deleted: it comes back once its timeout expires
    [again] = receive_all(queues.queue, 1)
    assert again.message_id == c.message_id


def test_approximate_count_counts_visible_messages(queues: Queues) -> None:
    for i in range(3):
        queues.queue.send(str(i))
    assert queues.queue.approximate_count() == 3
    receive_all(queues.queue, 1, visibility_timeout=30)
    assert queues.queue.approximate_count() == 2


def test_max_receive_count_is_the_redrive_policy(queues: Queues) -> None:
    assert queues.queue.max_receive_count() == DEFAULT_MAX_RECEIVE_COUNT
    assert queues.dead_letter.max_receive_count() is None  # no redrive policy of its own


def test_dead_letters_after_five_receives(queues: Queues) -> None:
    message_id = queues.queue.send("poison")
    limit = queues.queue.max_receive_count()
    counts = []
    for _ in range(5):
        [message] = receive_all(queues.queue, 1, visibility_timeout=0)
        counts.append(message.receive_count)
    assert counts == [1, 2, 3, 4, 5]
    # The receive whose count reaches the port's max_receive_count was the last.
    assert counts[-1] == limit

    # The sixth receive moves it instead of delivering it
    assert queues.queue.receive(wait_seconds=1) == []
    [dead] = receive_all(queues.dead_letter, 1)

    assert (dead.message_id, dead.body) == (message_id, "poison")
    assert dead.sent_timestamp == pytest.approx(message.sent_timestamp, abs=0.01)
    assert queues.queue.approximate_count() == 0


@pytest.mark.only_backend(
    "embedded", reason="moto honours MessageRetentionPeriod only from 60 s, too slow to wait for"
)
def test_messages_older_than_retention_are_dropped(queues: Queues) -> None:
    assert queues.database is not None
    db = SqliteDatabase(queues.database)
    short = SqliteQueue.create(db, "short-lived", retention_s=0.5)
    short.send("stale")
    time.sleep(0.7)
    short.send("fresh")
    assert short.approximate_count() == 1
    assert [m.body for m in short.receive(10)] == ["fresh"]
    db.close()


def test_concurrent_consumer_threads_share_the_work(queues: Queues) -> None:
    # Given many messages and several consumer threads on the same queue
    sent = {queues.queue.send(f"m{i}") for i in range(60)}
    results: list[list[tuple[str, str]]] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def run(seed: int) -> None:
        start.wait()
        seen = consume(queues.queue, seed=seed)
        with lock:
            results.append(seen)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then no message was held by two consumers, and every one was consumed once
    _assert_each_exactly_once(sent, results)


@pytest.mark.only_backend("embedded", reason="processes sharing one SQLite file is its own case")
def test_concurrent_consumer_processes_share_the_work(queues: Queues) -> None:
    assert queues.database is not None and isinstance(queues.queue, SqliteQueue)
    sent = {queues.queue.send(f"m{i}") for i in range(300)}
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(3)
    results = context.Queue()
    processes = [
        context.Process(
            target=consume_embedded,
            args=(queues.database, queues.queue.name, start, results),
        )
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    collected = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
        assert process.exitcode == 0

    _assert_each_exactly_once(sent, collected)
    assert sum(1 for seen in collected if seen) >= 2, "only one process got any work"


def _assert_each_exactly_once(sent: set[str], results: list[list[tuple[str, str]]]) -> None:
    ids = Counter(message_id for seen in results for message_id, _ in seen)
    duplicates = {message_id: n for message_id, n in ids.items() if n > 1}
    assert not duplicates, f"received more than once: {duplicates}"
    assert set(ids) == sent
