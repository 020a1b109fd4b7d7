"""Parse a big import file in a second process while the importing process stores.

Reading and validating a row costs about as much as storing it, and both ran on one
core. The parser process reads the file itself (only the path crosses over), validates
chunk by chunk with the importer's own ``parse`` function and sends back parsed rows
and row errors; a bounded queue keeps memory flat. The importing process keeps the one
transaction, so a failure anywhere still stores nothing.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from mutualaid.imports import Parse, ParsedChunk, parse_table

AHEAD = 4          # parsed chunks waiting at most: memory stays a few chunks
POLL_SECONDS = 1.0
PARENT_CHECK_SECONDS = 0.5
_DONE = "done"


class ParserDied(RuntimeError):
    """The parser process ended without finishing the file (killed, out of memory)."""


def die_with_parent(parent_pid: int, *, every: float = PARENT_CHECK_SECONDS) -> None:
    """End this process at once when ``parent_pid`` is no longer its parent.

    A killed importer (SIGKILL leaves no time to clean up) must not leave its parser
    running for ever: the child is re-parented, ``getppid`` changes, and a daemon thread
    that looks every ``every`` seconds ends the process. (``PR_SET_PDEATHSIG`` is not used:
    it fires when the *thread* that started the child ends, e.g. a web server's worker
    thread, not only the process.) With the parser gone, multiprocessing's resource
    tracker reads end-of-file on its pipe and ends too.
    """
    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(every)

    if os.getppid() != parent_pid:
        os._exit(3)
    threading.Thread(target=watch, name="mutualaid-parent-watch", daemon=True).start()


def _work(path: str, columns: Sequence[Any], file_name: str, parse: Parse, out: Any,
          parent_pid: int | None = None) -> None:
    from mutualaid.gc_tuning import batch_gc
    from mutualaid.tabular import open_table

    if parent_pid is not None:
        die_with_parent(parent_pid)
    try:
        with open_table(path, columns, file_name=file_name) as table, batch_gc():
            for chunk in parse_table(table, parse):
                out.put(chunk)
        out.put(_DONE)
    except BaseException as exc:  # noqa: BLE001 - handed to the importing process, which raises it
        out.put(exc)


def parse_in_subprocess(path: str, columns: Sequence[Any], file_name: str, parse: Parse) -> Iterator[ParsedChunk]:
    ctx = mp.get_context("spawn")  # never fork a process holding database connections
    out = ctx.Queue(maxsize=AHEAD)
    worker = ctx.Process(target=_work, args=(path, list(columns), file_name, parse, out, os.getpid()),
                         name="mutualaid-parser", daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = out.get(timeout=POLL_SECONDS)
            except queue_mod.Empty:
                if not worker.is_alive():
                    raise ParserDied(f"the parser process for {file_name} ended with code {worker.exitcode}") from None
                continue
            if item == _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
        worker.join(timeout=10)
    finally:
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=5)
        out.close()
        out.cancel_join_thread()
