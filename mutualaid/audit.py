"""Append-only, hash-chained audit log: every state change, who did it, and what changed.

Each entry's ``hash`` is an HMAC-SHA256, under a server secret kept outside the database,
of the previous entry's hash and the entry's own fields. Someone who can write to the
database but does not hold the secret cannot append a forged entry or rewrite the chain
from some point on and recompute it: :func:`verify` finds the first entry whose keyed
hash does not hold. What the key alone cannot show is a chain *cut short* (the last
entries, or all of them, deleted): for that the chain's head (:func:`head`: number of
entries and last hash) is written into every reconciliation's ``summary.json`` and
report and printed by the batch jobs, and :func:`verify` can be told such an anchor.

The secret (see docs/reliability.md): ``MUTUALAID_AUDIT_KEY`` (the secret itself), else
the file named by ``MUTUALAID_AUDIT_KEY_FILE``, else a key file made on first use with mode
0600 -- beside a SQLite database (``<database file>.audit-key``), or
``$XDG_CONFIG_HOME/mutualaid/audit.key`` (``~/.config/...``) for PostgreSQL.

The read side (:func:`audit_log`, :class:`AuditView`) shows entries with ID numbers masked.

Entries written before the chain was keyed carry a plain SHA-256; they are accepted
only at the start of the chain (an unkeyed entry after a keyed one is a forgery), and
:class:`VerifyResult` counts them as ``unkeyed``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mutualaid.idnumber import mask
from mutualaid.store.models import AuditEntry
from mutualaid.store.paging import Page, capped_count

GENESIS = "0" * 64
_LOCK_KEY = 7_041_977  # PostgreSQL advisory lock serialising appends to the chain
KEY_ENV = "MUTUALAID_AUDIT_KEY"
KEY_FILE_ENV = "MUTUALAID_AUDIT_KEY_FILE"

_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()


class AuditKeyMissing(RuntimeError):
    """The chain is keyed but the key is not where this process looks for it."""


def _payload(prev_hash: str, at: dt.datetime, actor: str, action: str, entity: str,
             entity_key: str, details: dict[str, Any]) -> bytes:
    return json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, action, entity, entity_key, details],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    ).encode("utf-8")


def _digest(prev_hash: str, at: dt.datetime, actor: str, action: str, entity: str,
            entity_key: str, details: dict[str, Any], key: bytes | None = None) -> str:
    """The keyed hash of an entry (plain SHA-256 when ``key`` is None: entries before keying)."""
    payload = _payload(prev_hash, at, actor, action, entity, entity_key, details)
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


# --- the key --------------------------------------------------------------------------------

def key_file_for(url: Any) -> Path | None:
    """Where the key file of the database at ``url`` is kept (None: in-memory SQLite, key per process)."""
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(os.path.realpath(database) + ".audit-key")
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mutualaid" / "audit.key"


def _read_key(path: Path) -> bytes:
    raw = path.read_text(encoding="utf-8").strip()
    if len(raw) < 32:
        raise AuditKeyMissing(f"the audit key in {path} is too short (at least 32 characters)")
    return raw.encode("utf-8")


def _create_key(path: Path) -> bytes:
    """A new random key, written atomically with mode 0600 (a racing process's key wins)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)          # fails if another process made it first: read theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return _read_key(path)


def chain_key(session: Session, *, create: bool = True) -> bytes | None:
    """The server secret of this session's database (made on first use when ``create``)."""
    env = os.environ.get(KEY_ENV)
    if env:
        if len(env) < 32:
            raise AuditKeyMissing(f"{KEY_ENV} is too short (at least 32 characters)")
        return env.encode("utf-8")
    url = session.get_bind().engine.url
    path = key_file_for(url)
    cache_key = str(path) if path is not None else f"memory:{id(session.get_bind().engine)}"
    with _keys_lock:
        if cache_key in _keys:
            return _keys[cache_key]
        if path is None:
            key = secrets.token_hex(32).encode()
        elif path.exists():
            key = _read_key(path)
        elif create:
            key = _create_key(path)
        else:
            return None
        _keys[cache_key] = key
        return key


def forget_keys() -> None:
    """Drop the cached keys (tests that change the environment)."""
    with _keys_lock:
        _keys.clear()


# --- appending --------------------------------------------------------------------------------

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
    key = chain_key(session)
    lock_chain(session)
    prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    details = json.loads(json.dumps(details or {}, default=str))
    entry = AuditEntry(
        at=at, actor=actor, action=action, entity=entity, entity_key=str(entity_key),
        details=details, prev_hash=prev or GENESIS,
        hash=_digest(prev or GENESIS, at, actor, action, entity, str(entity_key), details, key),
    )
    session.add(entry)
    session.flush()
    return entry


# --- the head and verification -----------------------------------------------------------------

@dataclass(frozen=True)
class ChainHead:
    """How long the chain is and how it ends: an anchor to verify against later."""

    entries: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "head": self.hash}

    @classmethod
    def of(cls, doc: dict[str, Any]) -> "ChainHead":
        """From ``summary.json``'s ``audit_chain`` (or a whole summary document)."""
        doc = doc.get("audit_chain", doc) if isinstance(doc, dict) else {}
        entries, head = doc.get("entries") if isinstance(doc, dict) else None, doc.get("head") if isinstance(doc, dict) else None
        if not isinstance(entries, int) or entries < 0 or not isinstance(head, str) or len(head) != 64:
            raise ValueError("not an audit chain head: needs entries (a count) and head (64 hex characters)")
        return cls(entries, head)

    def __str__(self) -> str:
        return f"{self.entries} entries, head {self.hash[:16]}"


def head(session: Session) -> ChainHead:
    """The chain's current head (count of entries and the last one's hash)."""
    n = session.execute(select(func.count()).select_from(AuditEntry)).scalar() or 0
    last = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    return ChainHead(int(n), last or GENESIS)


@dataclass
class VerifyResult:
    entries: int
    broken_at: int | None       # id of the first entry whose hash or link does not hold
    unkeyed: int = 0            # entries from before keying (plain SHA-256) at the chain's start
    anchor: ChainHead | None = None
    anchor_problem: str | None = None  # "cut" (fewer entries than anchored) | "diverged" (other hash there)
    key_missing: bool = False

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.anchor_problem is None and not self.key_missing


def verify(session: Session, against: ChainHead | None = None) -> VerifyResult:
    """Recompute the chain: an edited, inserted, deleted or forged entry breaks it; with
    ``against`` (an earlier head), a chain cut short or rewritten since is caught too."""
    key = chain_key(session, create=False)
    prev, n, unkeyed, keyed_seen = GENESIS, 0, 0, False
    anchor_hash: str | None = None
    result = VerifyResult(0, None, anchor=against)
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=5000)).scalars():
        n += 1
        fields = (prev, e.at, e.actor, e.action, e.entity, e.entity_key, e.details)
        ok = e.prev_hash == prev
        if ok:
            if key is not None and hmac.compare_digest(e.hash, _digest(*fields, key)):
                keyed_seen = True
            elif not keyed_seen and e.hash == _digest(*fields):
                unkeyed += 1
            else:
                ok = False
        if not ok:
            result.entries, result.broken_at, result.unkeyed = n, e.id, unkeyed
            result.key_missing = key is None and not keyed_seen and unkeyed == n - 1
            return result
        if against is not None and n == against.entries:
            anchor_hash = e.hash
        prev = e.hash
    result.entries, result.unkeyed = n, unkeyed
    if against is not None:
        if n < against.entries:
            result.anchor_problem = "cut"
        elif against.entries and not hmac.compare_digest(anchor_hash or "", against.hash):
            result.anchor_problem = "diverged"
        elif not against.entries and against.hash != GENESIS:
            result.anchor_problem = "diverged"
    return result


# --- read side: the audit log page ---------------------------------------------------------

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_key: str
    details: dict[str, Any]


def mask_ids(value: Any) -> Any:
    """ID numbers inside free text (audit keys and details) masked like everywhere else."""
    if isinstance(value, str):
        return _ID_NUMBER.sub(lambda m: mask(m.group(0)), value)
    if isinstance(value, dict):
        return {k: mask_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_ids(v) for v in value]
    return value


def audit_view(a: AuditEntry) -> AuditView:
    return AuditView(a.id, a.at, a.actor, a.action, a.entity, mask_ids(a.entity_key), mask_ids(a.details or {}))


def audit_log(session: Session, *, actor: str | None = None, action: str | None = None,
              key: str | None = None, page: int = 1, page_size: int = 50) -> Page[AuditView]:
    conds = []
    if actor:
        conds.append(AuditEntry.actor == actor)
    if action:
        conds.append(AuditEntry.action.startswith(action, autoescape=True))
    if key:
        conds.append(AuditEntry.entity_key == key)
    total, more = capped_count(session, select(AuditEntry.id).where(*conds))
    rows = session.execute(select(AuditEntry).where(*conds).order_by(AuditEntry.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).scalars()
    return Page([audit_view(a) for a in rows], total, page, page_size, more)
