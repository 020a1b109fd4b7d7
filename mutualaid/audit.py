"""Append-only, hash-chained audit log: every state change, who did it, and what changed."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mutualaid.store.models import AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 7_041_977  # PostgreSQL advisory lock serialising appends to the chain


def _digest(prev_hash: str, at: dt.datetime, actor: str, action: str, entity: str,
            entity_key: str, details: dict[str, Any]) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, action, entity, entity_key, details],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def lock_chain(session: Session) -> None:
    """Hold the one writers' lock until the transaction ends.

    ``record`` takes it; a use case that reads, decides and then writes takes it *first*,
    so that such transactions run one after the other: two reviews of one member, a review
    and a batch chunk storing that member's decisions (``decide.store_outcomes`` checks
    under it that what it read still holds), reconciliation notes. PostgreSQL: an
    advisory transaction lock. SQLite: the database's write lock, taken by a write that
    changes nothing (its reads before any write see no snapshot, so the lock must come
    before the reads that matter).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    else:
        session.execute(text("UPDATE audit_log SET id = id WHERE 0"))


def record(session: Session, actor: str, action: str, entity: str, entity_key: object,
           details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits with the change it records)."""
    lock_chain(session)
    prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    details = json.loads(json.dumps(details or {}, default=str))
    entry = AuditEntry(
        at=at, actor=actor, action=action, entity=entity, entity_key=str(entity_key),
        details=details, prev_hash=prev or GENESIS,
        hash=_digest(prev or GENESIS, at, actor, action, entity, str(entity_key), details),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass
class VerifyResult:
    entries: int
    broken_at: int | None  # id of the first entry whose hash or link does not hold

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(session: Session) -> VerifyResult:
    """Recompute the chain: an edited, inserted or deleted entry breaks it."""
    prev, n = GENESIS, 0
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        n += 1
        if e.prev_hash != prev or e.hash != _digest(prev, e.at, e.actor, e.action, e.entity,
                                                    e.entity_key, e.details):
            return VerifyResult(n, e.id)
        prev = e.hash
    return VerifyResult(n, None)
