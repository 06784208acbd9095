"""The worker: S3 event messages in, word counts out.

``loop`` receives and dispatches messages, ``job`` counts one object, ``split`` splits a
big one into ranges and merges their counts, ``keeper`` extends the visibility of held
messages while jobs run.
"""

from wordfreq_service.service.worker.job import Abandoned, Unprocessable
from wordfreq_service.service.worker.keeper import VisibilityKeeper
from wordfreq_service.service.worker.loop import BusyHook, Worker, run_until_stopped
from wordfreq_service.service.worker.settings import WorkerSettings

__all__ = [
    "Abandoned",
    "BusyHook",
    "Unprocessable",
    "VisibilityKeeper",
    "Worker",
    "WorkerSettings",
    "run_until_stopped",
]
