"""The embedded backend: objects in files, queues in SQLite, no server.

``open_embedded(data_dir)`` is all a service needs; the classes are public for tests
and tools that build a backend piece by piece.
"""

from wordfreq_service.adapters.embedded.backend import (
    DEAD_LETTER_QUEUE,
    DEFAULT_BUCKET,
    RESULT_QUEUE,
    WORK_QUEUE,
    configure_notification,
    open_embedded,
)
from wordfreq_service.adapters.embedded.database import SqliteDatabase
from wordfreq_service.adapters.embedded.objects import FileObjectReader, FileStore
from wordfreq_service.adapters.embedded.queue import QueueConfig, SqliteQueue

__all__ = [
    "DEAD_LETTER_QUEUE",
    "DEFAULT_BUCKET",
    "RESULT_QUEUE",
    "WORK_QUEUE",
    "FileObjectReader",
    "FileStore",
    "QueueConfig",
    "SqliteDatabase",
    "SqliteQueue",
    "configure_notification",
    "open_embedded",
]
