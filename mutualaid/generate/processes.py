"""Work done in forked children while the generator goes on: same bytes either way.

At the region scale the ID numbers and the two big rosters are most of the time; a forked
child sees the parent's memory (nothing is pickled), so they run beside the claims, the
estimate and the ledger. Fork only when no other Python thread runs (forking a threaded
process can deadlock the child); otherwise, or if a child fails, the work is done here.
"""
from __future__ import annotations

import multiprocessing as mp
import threading
import warnings
from contextlib import contextmanager


@contextmanager
def forking():
    """Python 3.12+ warns on fork() when the process has other OS threads; ours are only
    numpy's idle BLAS threads (fork is used only while no other Python thread runs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning)
        yield


def can_fork() -> bool:
    return "fork" in mp.get_all_start_methods() and threading.active_count() == 1


class Background:
    """Run ``fn(*args)`` in a forked child (it sees our memory: nothing is copied or pickled)
    while we go on; ``join()`` waits. Without fork, or with other threads running, or if the
    child fails, the work is done here instead — same result either way."""

    def __init__(self, fn, *args):  # noqa: ANN001, ANN002
        self.fn, self.args, self.proc = fn, args, None
        if can_fork():
            try:
                self.proc = mp.get_context("fork").Process(target=fn, args=args, daemon=True)
                with forking():
                    self.proc.start()
            except OSError:
                self.proc = None
        if self.proc is None:
            fn(*args)

    def join(self) -> None:
        if self.proc is not None:
            self.proc.join()
            failed = self.proc.exitcode != 0
            self.proc = None
            if failed:
                self.fn(*self.args)
