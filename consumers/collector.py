"""The garbage collector of a process that handles a stream of messages or requests (the intake,
the relay and its encoders, the projector, ``saksflyt serve``).

Such a process sets up once (schemas, the application, connections) and then makes many short-lived
objects per message (decoded records, rows, statements) that reference counting frees at once. By
default the collector runs a young-generation pass every 700 allocations and, every few passes, an
older one over the whole startup heap: time spent finding no garbage.
"""

from __future__ import annotations

import gc

YOUNG_EVERY = 50_000  # allocations between young-generation passes (Python's default: 700)


def settle_collector() -> None:
    """Call once the process has set up: what it holds from then on is never garbage, so later
    passes skip it (``gc.freeze``), and the young generation is collected every ``YOUNG_EVERY``
    allocations. Cyclic garbage still goes, a little later. Measured on 2 cores: the relay's
    encoding −15 % time; read-model apply from Kafka +12 % events/s (median of 4 interleaved runs);
    ``saksflyt serve`` under 32 clients, ~1,600 commands: 0.29–0.30 s in 219 collections → 0.02 s
    in one."""
    gc.freeze()
    gc.set_threshold(YOUNG_EVERY, 50, 100)
