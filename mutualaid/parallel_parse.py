"""Parse a big import file in a second process while the importing process stores.

Reading and validating a row costs about as much as storing it, and both ran on one
core. The parser process reads the file itself (only the path crosses over), validates
chunk by chunk with the importer's own ``parse`` function and sends back parsed rows
and row errors; a bounded queue keeps memory flat. The importing process keeps the one
transaction, so a failure anywhere still stores nothing.
"""
from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
from collections.abc import Iterator, Sequence
from typing import Any

from mutualaid.imports import Parse, ParsedChunk, parse_table

AHEAD = 4          # parsed chunks waiting at most: memory stays a few chunks
POLL_SECONDS = 1.0
_DONE = "done"


class ParserDied(RuntimeError):
    """The parser process ended without finishing the file (killed, out of memory)."""


def _work(path: str, columns: Sequence[Any], file_name: str, parse: Parse, out: Any) -> None:
    from mutualaid.gc_tuning import batch_gc
    from mutualaid.tabular import open_table

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
    worker = ctx.Process(target=_work, args=(path, list(columns), file_name, parse, out),
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
