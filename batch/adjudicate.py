"""`mutualaid batch run`: decide every RECEIVED claim, in committed chunks of members.

Safe to re-run: decided claims are never selected again; an interruption loses at most
the chunk in flight, which was never committed. Two runs at once: the second refuses.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mutualaid.casework.service import before_batch
from mutualaid.claims.decide import Tally, decide_and_record, pending_member_ids, waiting_count
from mutualaid.gc_tuning import batch_gc
from mutualaid.store.db import Database
from mutualaid.store.locks import job_lock

MEMBERS_PER_CHUNK = 20_000  # ~30k claims: fewer commits, each rewriting fewer pages per claim


def member_chunks(ids: list[str], size: int = MEMBERS_PER_CHUNK) -> list[tuple[str, str]]:
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def run(db: Database, *, as_of: dt.date, user: str = "engine", progress: Callable[[int, int], None] | None = None,
        members_per_chunk: int = MEMBERS_PER_CHUNK) -> Tally:
    total = Tally()
    with job_lock(db, "adjudicate"), batch_gc():
        with db.transaction() as session:  # returned claims: R10 closing, corrections in their place (casework)
            total.merge(before_batch(session, as_of=as_of, user=user))
        with db.sessions() as session:  # noqa: SIM117
            ids = pending_member_ids(session, as_of)
            total.waiting = waiting_count(session, as_of)
        chunks = member_chunks(ids, members_per_chunk)
        for k, (lo, hi) in enumerate(chunks, 1):
            with db.transaction() as session:
                total.merge(decide_and_record(session, lo, hi, as_of=as_of, user=user))
            if progress:
                progress(k, len(chunks))
    return total
