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
import pickle
import queue as queue_mod
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mutualaid.rowparse import Parse, ParsedChunk, parse_table
from mutualaid.limits import ReadLimits
from mutualaid.tabular import FileProblem

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
          parent_pid: int | None = None, limits: ReadLimits | None = None) -> None:
    from mutualaid.gc_tuning import batch_gc
    from mutualaid.tabular import open_table

    if parent_pid is not None:
        die_with_parent(parent_pid)
    try:
        with open_table(path, columns, file_name=file_name, limits=limits) as table, batch_gc():
            for chunk in parse_table(table, parse):
                out.put(chunk)
        out.put(_DONE)
    except BaseException as exc:  # noqa: BLE001 - handed to the importing process, which raises it
        out.put(exc)


def parse_in_subprocess(path: str, columns: Sequence[Any], file_name: str, parse: Parse,
                        limits: ReadLimits | None = None) -> Iterator[ParsedChunk]:
    ctx = mp.get_context("spawn")  # never fork a process holding database connections
    out = ctx.Queue(maxsize=AHEAD)
    worker = ctx.Process(target=_work, args=(path, list(columns), file_name, parse, out, os.getpid(), limits),
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


# --- uploads: parse the whole file in a bounded worker first, then store -------------------------

@dataclass
class StagedFile:
    """What the worker found: the table's identity and where its parsed chunks wait."""

    file_name: str
    fingerprint: str
    warnings: list[str]
    staging: Path
    headers: dict[str, str] = field(default_factory=dict)   # column name -> the header the file used

    def chunks(self) -> Iterator[ParsedChunk]:
        with open(self.staging, "rb") as fh:
            while True:
                try:
                    yield pickle.load(fh)
                except EOFError:
                    return

    def discard(self) -> None:
        self.staging.unlink(missing_ok=True)


def _set_memory_limit(limit: int | None) -> None:
    if limit is None:
        return
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _stage(path: str, columns: Sequence[Any], file_name: str, parse: Parse, limits: ReadLimits,
           staging: str, parent_pid: int, out: Any) -> None:
    die_with_parent(parent_pid)
    try:
        _set_memory_limit(limits.parse_memory_bytes)
        from mutualaid.gc_tuning import batch_gc
        from mutualaid.tabular import open_table

        with open_table(path, columns, file_name=file_name, limits=limits) as table, batch_gc(), \
                open(staging, "wb") as fh:
            for chunk in parse_table(table, parse):
                pickle.dump(chunk, fh, protocol=pickle.HIGHEST_PROTOCOL)
            out.put((table.file_name, table.fingerprint, list(table.warnings), dict(table.headers)))
    except MemoryError:
        out.put(FileProblem("parse_out_of_memory", file_name))
    except BaseException as exc:  # noqa: BLE001 - handed to the importing process, which raises it
        try:
            out.put(exc)
        except Exception:  # noqa: BLE001  (an exception that does not pickle)
            out.put(RuntimeError(f"{type(exc).__name__}: {exc}"))


def parse_in_worker(path: str | Path, columns: Sequence[Any], file_name: str, parse: Parse,
                    limits: ReadLimits) -> StagedFile:
    """Read and check the whole file in a worker process (time and memory bounded) into a
    private staging file beside it; FileProblem for a file too slow or too big to read."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue(maxsize=1)
    fd, staging = tempfile.mkstemp(prefix=".parsed-", suffix=".pickle", dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    worker = ctx.Process(target=_stage, name="mutualaid-upload-parser",
                         args=(str(path), list(columns), file_name, parse, limits, staging, os.getpid(), out),
                         daemon=True)
    deadline = None if limits.parse_seconds is None else time.monotonic() + limits.parse_seconds
    ok = False
    try:
        worker.start()
        while True:
            try:
                item = out.get(timeout=POLL_SECONDS / 4)
                break
            except queue_mod.Empty:
                if deadline is not None and time.monotonic() > deadline:
                    raise FileProblem("parse_too_slow", file_name, seconds=int(limits.parse_seconds or 0)) from None
                if not worker.is_alive():
                    if worker.exitcode is not None and worker.exitcode < 0 and limits.parse_memory_bytes:
                        raise FileProblem("parse_out_of_memory", file_name) from None
                    raise ParserDied(f"the parser process for {file_name} ended with code {worker.exitcode}") from None
        if isinstance(item, BaseException):
            raise item
        ok = True
        return StagedFile(item[0], item[1], item[2], Path(staging), item[3])
    finally:
        if worker.is_alive():
            worker.join(timeout=2 if ok else 0)
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=5)
        out.close()
        out.cancel_join_thread()
        if not ok:
            Path(staging).unlink(missing_ok=True)
