"""The soak: thousands of jobs of mixed sizes from concurrent clients through a whole
stack, a worker process killed and restarted part-way, and the figures a user relies on
(throughput, latency, nothing lost or printed twice, correct counts, flat memory,
bounded storage). ``python -m tools.soak --help``; ``make soak``, ``make soak-aws``."""
