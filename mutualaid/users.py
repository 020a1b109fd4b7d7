"""Users, passwords and sign-ins: the use cases behind the web login, API tokens and the CLI.

* Passwords are kept only as argon2 hashes (pwdlib).
* A sign-in is a random secret handed to the browser (session cookie) or the API client
  (bearer token); the database keeps its SHA-256 and an expiry, so a leaked table does
  not let anyone sign in, and signing out deletes the row.
* Passwords: at least ``MIN_PASSWORD`` (12) characters and not in the common-password list
  shipped with the package (``mutualaid/data/common_passwords.txt``), nor the user name.
* Wrong passwords are rate-limited per (user name, client address) with a growing delay:
  the first ``FREE_FAILURES`` failures cost nothing; after the n-th one the next try from
  that address waits ``FIRST_DELAY * 2**(n - FREE_FAILURES)`` (at most ``MAX_DELAY``)
  counted from that failure, whatever the password (:class:`RateLimited`). Failures older
  than ``FAILURE_WINDOW`` are forgotten. Another address is not affected, so an attacker
  elsewhere cannot lock a clerk out; the client address is the peer's, or the forwarded
  one only behind a configured proxy (``Settings.forwarded_allow_ips``).
* Every change (user created, enabled/disabled, sign-in, sign-out) is in the audit log.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.store.db import Database
from mutualaid.store.models import AuthToken, LoginFailure, User

ROLES: tuple[str, ...] = ("clerk", "auditor", "finance", "admin")
SESSION, API = "session", "api"
FREE_FAILURES = 4                          # wrong passwords without any delay
FIRST_DELAY = dt.timedelta(seconds=30)     # after the 5th, doubling with each further one
MAX_DELAY = dt.timedelta(minutes=15)
FAILURE_WINDOW = dt.timedelta(minutes=30)  # failures older than this are forgotten
MAX_FAILURES = FREE_FAILURES + 1           # (the first failure that delays the next try)
MIN_PASSWORD = 12
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common_passwords.txt"
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_UNIT_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")

#: replaced by tests with cheaper parameters; production uses pwdlib's argon2id defaults
HASHER = PasswordHash((Argon2Hasher(),))


class UserError(ValueError):
    """A request the user can fix; ``code`` is a key of :data:`mutualaid.i18n.UI`."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params


class BadCredentials(Exception):
    """Unknown user, wrong password or disabled account (deliberately not told apart)."""


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: what the interfaces need to authorise a request."""

    id: int
    username: str
    role: str
    unit_codes: tuple[str, ...]
    display_name: str = ""

    @property
    def units(self) -> frozenset[str] | None:
        """Units whose claims this user may see; None = every unit."""
        return frozenset(self.unit_codes) if self.role == "clerk" else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4)
def _dummy_hash(hasher_id: int) -> str:  # noqa: ARG001  (cache per hasher)
    return HASHER.hash(secrets.token_urlsafe(16))


def _principal(u: User) -> Principal:
    return Principal(u.id, u.username, u.role, tuple(u.unit_codes or ()), u.display_name or "")


def normalize_units(unit_codes: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for code in unit_codes:
        c = str(code).strip()
        if not c:
            continue
        if not _UNIT_CODE.match(c):
            raise UserError("bad_unit_code", code=c)
        if c not in out:
            out.append(c)
    return tuple(out)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with open(COMMON_PASSWORDS, encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip() and not line.startswith("#"))


def check_password(password: str, *, username: str = "") -> None:
    """UserError("bad_password") unless long enough and not a common password (for every role)."""
    if len(password) < MIN_PASSWORD or len(password) > 256:
        raise UserError("bad_password", min=MIN_PASSWORD)
    lowered = password.strip().lower()
    if lowered in common_passwords() or (len(username.strip()) >= 4 and username.strip().lower() in lowered) \
            or len(set(lowered)) <= 2:
        raise UserError("bad_password", min=MIN_PASSWORD)


def delay_after(failures: int) -> dt.timedelta:
    """How long the next try waits after ``failures`` wrong passwords in a row (0 for the first few)."""
    if failures <= FREE_FAILURES:
        return dt.timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * 2 ** (failures - FREE_FAILURES - 1))


def create_user(session: Session, *, username: str, password: str, role: str, actor: str,
                unit_codes: Sequence[str] = (), display_name: str = "") -> Principal:
    """Add a user (the caller commits). A clerk needs at least one unit code."""
    username = username.strip()
    if not _USERNAME.match(username):
        raise UserError("bad_username")
    if role not in ROLES:
        raise UserError("bad_role", roles=", ".join(ROLES))
    check_password(password, username=username)
    units = normalize_units(unit_codes)
    if role == "clerk" and not units:
        raise UserError("clerk_needs_units")
    if session.execute(select(User.id).where(func.lower(User.username) == username.lower())).first():
        raise UserError("user_exists", username=username)
    user = User(username=username, password_hash=HASHER.hash(password), role=role, unit_codes=list(units),
                display_name=display_name.strip()[:100], active=True, created_by=actor)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", username,
                 {"role": role, "units": list(units), "display_name": user.display_name})
    return _principal(user)


def set_active(session: Session, username: str, active: bool, *, actor: str) -> Principal:
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        raise UserError("no_such_user", username=username)
    if username == actor and not active:
        raise UserError("cannot_disable_self")
    user.active = active
    if not active:
        session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
    audit.record(session, actor, "user.enable" if active else "user.disable", "user", username, {})
    return _principal(user)


def list_users(session: Session) -> list[tuple[Principal, bool, dt.datetime]]:
    return [(_principal(u), u.active, u.created_at)
            for u in session.execute(select(User).order_by(User.username)).scalars()]


def authenticate(db: Database, username: str, password: str, *, ip: str,
                 now: dt.datetime | None = None) -> Principal:
    """Check a password; BadCredentials or RateLimited. Failures are committed either way."""
    now = now or _now()
    key = username.strip().lower()[:64]
    ip = (ip or "?")[:64]
    since = now - FAILURE_WINDOW
    with db.transaction() as session:
        failures = session.execute(
            select(LoginFailure.at).where(LoginFailure.username == key, LoginFailure.ip == ip,
                                          LoginFailure.at > since).order_by(LoginFailure.at)).scalars().all()
        wait = failures[-1] + delay_after(len(failures)) - now if failures else dt.timedelta(0)
        if wait > dt.timedelta(0):
            raise RateLimited(max(1, int(wait.total_seconds()) + (wait.total_seconds() % 1 > 0)))
        user = session.execute(select(User).where(func.lower(User.username) == key)).scalar()
    ok = False
    if user is None or len(password) > 1024:
        HASHER.verify(password[:1024], _dummy_hash(id(HASHER)))  # same time as a real check
    else:
        ok, new_hash = HASHER.verify_and_update(password, user.password_hash)
    if not ok or user is None or not user.active:
        with db.transaction() as session:
            session.add(LoginFailure(username=key, ip=ip, at=now))
            session.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW))
        raise BadCredentials()
    with db.transaction() as session:
        session.execute(delete(LoginFailure).where(LoginFailure.username == key, LoginFailure.ip == ip))
        if new_hash:
            session.execute(User.__table__.update().where(User.id == user.id).values(password_hash=new_hash))
    return _principal(user)


@dataclass(frozen=True, slots=True)
class SignIn:
    token: str          # the secret for the cookie or the Authorization header
    csrf_token: str     # for session sign-ins: the value every form must carry
    expires_at: dt.datetime


def open_sign_in(db: Database, principal: Principal, *, kind: str, ttl: dt.timedelta, ip: str = "") -> SignIn:
    if kind not in (SESSION, API):
        raise ValueError(kind)
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with db.transaction() as session:
        session.execute(delete(AuthToken).where(AuthToken.expires_at < now))
        session.add(AuthToken(token_hash=_digest(raw), user_id=principal.id, kind=kind,
                              csrf_token=csrf if kind == SESSION else "", created_at=now, expires_at=now + ttl))
        audit.record(session, principal.username, "auth.login" if kind == SESSION else "auth.token", "user",
                     principal.username, {"ip": ip[:64], "expires_at": (now + ttl).isoformat(timespec="seconds")})
    return SignIn(raw, csrf if kind == SESSION else "", now + ttl)


def resolve_sign_in(session: Session, raw: str, *, kind: str,
                    now: dt.datetime | None = None) -> tuple[Principal, str] | None:
    """(principal, csrf token) of a live sign-in of this kind; None if unknown, expired or disabled."""
    if not raw or len(raw) > 200:
        return None
    row = session.execute(
        select(User, AuthToken.csrf_token, AuthToken.expires_at)
        .join(AuthToken, AuthToken.user_id == User.id)
        .where(AuthToken.token_hash == _digest(raw), AuthToken.kind == kind)).first()
    if row is None or row.expires_at <= (now or _now()) or not row.User.active:
        return None
    return _principal(row.User), row.csrf_token


def close_sign_in(db: Database, raw: str, *, actor: str) -> None:
    with db.transaction() as session:
        n = session.execute(delete(AuthToken).where(AuthToken.token_hash == _digest(raw))).rowcount
        if n:
            audit.record(session, actor, "auth.logout", "user", actor, {})


__all__ = [
    "API", "ROLES", "SESSION", "BadCredentials", "Principal", "RateLimited", "SignIn", "UserError",
    "authenticate", "check_password", "close_sign_in", "create_user", "list_users", "open_sign_in", "resolve_sign_in", "set_active",
]
