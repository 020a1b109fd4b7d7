"""Files holding personal data are the owner's only: 0600 files, 0700 folders.

The demo database and the generated rosters and claim batches hold full ID numbers and
bank accounts; reports and error files are kept the same way. :func:`private_files` sets
the process umask to 077 while such files are made (threads and forked writers inherit
it), and :func:`make_private` tightens what already existed (a file rewritten in place
keeps its old mode).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


@contextmanager
def private_files() -> Iterator[None]:
    """umask 077 for the duration (process-wide: for CLI jobs and the demo, not for servers)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def make_private(*paths: Path | str, recursive: bool = False) -> None:
    """chmod 0600 files and 0700 folders (with ``recursive``: everything below a folder too)."""
    for p in map(Path, paths):
        if not p.exists():
            continue
        targets: Iterable[Path] = p.rglob("*") if recursive and p.is_dir() else ()
        for q in (p, *targets):
            if q.is_symlink():
                continue
            os.chmod(q, DIR_MODE if q.is_dir() else FILE_MODE)


def create_private_file(path: Path | str) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist yet (a new SQLite database)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


__all__ = ["DIR_MODE", "FILE_MODE", "create_private_file", "make_private", "private_files"]
