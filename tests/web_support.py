"""Shared set-up for the web tests: the real app over the `db` fixture, users of every role,
a small enrolled population, claim batches of two units, and helpers to sign in.

Import the fixtures into a test module (``from tests.web_support import web, seeded``).
"""
from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

import batch.adjudicate as adjudicate_job
from api.app import create_app
from api.settings import Settings
from mutualaid import users
from mutualaid.claims.intake import submit_batch
from mutualaid.enrollments import import_roster
from mutualaid.store.db import Database
from tests.test_import import CLAIM_HEAD, F2, M1, ROSTER_HEAD, hosp_row, roster_row, women_row, write

PASSWORD = "correct-horse-9"
AS_OF = dt.date(2026, 7, 1)
BASE_URL = "https://testserver"  # cookies are Secure: the test client must speak "https"
ROLES = ("clerk", "auditor", "finance", "admin")
#: test accounts: username -> (role, units)
ACCOUNTS = {
    "clerk_a": ("clerk", ["TL0001"]),
    "clerk_b": ("clerk", ["TL0002"]),
    "auditor": ("auditor", []),
    "auditor2": ("auditor", []),
    "finance": ("finance", []),
    "admin": ("admin", []),
}
ROLE_USER = {"clerk": "clerk_a", "auditor": "auditor", "finance": "finance", "admin": "admin"}
FAST_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@dataclass
class Web:
    app: object
    client: TestClient
    db: Database
    settings: Settings
    tmp: Path
    _tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        """Authorization header of a bearer token for ``username`` (cached per test)."""
        if username not in self._tokens:
            r = self.client.post("/api/v1/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self._tokens[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self._tokens[username]

    def browser(self, username: str | None = None) -> "Page":
        """A separate cookie jar, signed in through the login form when ``username`` is given."""
        client = TestClient(self.app, base_url=BASE_URL, follow_redirects=False)
        page = Page(client)
        if username:
            r = page.login(username, PASSWORD)
            assert r.status_code == 303, r.text
        return page

    def wait_jobs(self) -> None:
        self.app.state.jobs.wait_all()


@dataclass
class Page:
    client: TestClient
    _csrf: str | None = None

    def csrf(self, path: str = "/") -> str:
        """The form token of this session (read once from a page; the login form has its own)."""
        if path != "/login" and self._csrf:
            return self._csrf
        r = self.client.get(path)
        m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
        assert m, f"no CSRF token on {path}: {r.status_code}"
        if path != "/login":
            self._csrf = m.group(1)
        return m.group(1)

    def login(self, username: str, password: str, next_url: str = "/"):  # noqa: ANN201
        token = self.csrf("/login")
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token, "next": next_url})

    def get(self, path: str, **kw):  # noqa: ANN003, ANN201
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, *, csrf_from: str = "/", **kw):  # noqa: ANN003, ANN201
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf(csrf_from))
        return self.client.post(path, data=payload, **kw)


@pytest.fixture
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: production cost makes every sign-in take half a second."""
    monkeypatch.setattr(users, "HASHER", FAST_HASHER)


def make_settings(tmp: Path, **kw: object) -> Settings:
    return Settings(upload_dir=tmp / "uploads", reports_dir=tmp / "reports", **kw)  # type: ignore[arg-type]


@pytest.fixture
def web(db: Database, tmp_path: Path, fast_hashes: None) -> Iterator[Web]:
    settings = make_settings(tmp_path)
    app = create_app(db, settings)
    with db.transaction() as session:
        for name, (role, units) in ACCOUNTS.items():
            users.create_user(session, username=name, password=PASSWORD, role=role, actor="test", unit_codes=units)
    with TestClient(app, base_url=BASE_URL) as client:
        w = Web(app, client, db, settings, tmp_path)
        yield w
        w.wait_jobs()


def roster_file(tmp: Path) -> Path:
    return write(tmp / "roster.csv", ROSTER_HEAD, [
        roster_row(),                                                        # F1 HOSP in TL0001
        roster_row(product="WOMEN", units="2", premium_paid="60.00"),        # F1 WOMEN in TL0001
        roster_row(member_id_number=M1, member_name="张伟"),                  # M1 HOSP in TL0001
        roster_row(member_id_number=F2, member_name="刘芳", unit_code="TL0002", unit_name="供电公司工会"),
    ])


def claims_a(tmp: Path) -> Path:
    """Unit TL0001: an approved HOSP claim, a duplicate (R06), a name typo (V02 -> pending), WOMEN."""
    return write(tmp / "claims_a.csv", CLAIM_HEAD, [
        hosp_row(),
        hosp_row(claim_no="A-DUP", admission_date="2026-04-10", discharge_date="2026-04-12"),
        hosp_row(claim_no="A-PEND", member_id_number=M1, member_name="张 伟x", admission_date="2026-05-03",
                 discharge_date="2026-05-06", submitted_date="2026-05-10"),
        women_row(),
    ])


def claims_b(tmp: Path) -> Path:
    return write(tmp / "claims_b.csv", CLAIM_HEAD, [
        hosp_row(claim_no="B-1", member_id_number=F2, member_name="刘芳x", admission_date="2026-05-01",
                 discharge_date="2026-05-03", submitted_date="2026-05-10", in_policy_self_pay="300.00",
                 total_cost="1300.00", insurance_paid="700.00", out_of_policy_self_pay="300.00"),
    ])


def adjudicate(db: Database, as_of: dt.date) -> None:
    """The batch run, waiting while another test session holds the job lock: PostgreSQL
    advisory locks are per database, not per schema, so parallel test runs share them."""
    from mutualaid.store.locks import JobBusy

    deadline = time.monotonic() + 60
    while True:
        try:
            adjudicate_job.run(db, as_of=as_of)
            return
        except JobBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class Seeded:
    batch_a: int
    batch_b: int
    claims: dict[str, int]   # claim_no -> claim id


@pytest.fixture
def seeded(web: Web) -> Seeded:
    """Roster stored, one batch per unit filed through the API by its clerk, all adjudicated."""
    import_roster(web.db, roster_file(web.tmp), user="test")
    ids = []
    for clerk, path in (("clerk_a", claims_a(web.tmp)), ("clerk_b", claims_b(web.tmp))):
        with open(path, "rb") as fh:
            r = web.client.post("/api/v1/batches", headers=web.auth(clerk), files={"file": (path.name, fh, "text/csv")})
        assert r.status_code == 201, r.text
        ids.append(r.json()["import_id"])
    adjudicate(web.db, AS_OF)
    from sqlalchemy import select

    from mutualaid.store.models import Claim
    with web.db.sessions() as s:
        claims = dict(s.execute(select(Claim.claim_no, Claim.id)).all())
    return Seeded(ids[0], ids[1], claims)


def submit_as(db: Database, tmp: Path, clerk: str, unit: str, rows: list[dict], name: str = "extra.csv") -> int:
    """A batch stored directly through the use case (e.g. 'submitted' by an auditor's name)."""
    report = submit_batch(db, write(tmp / name, CLAIM_HEAD, rows), clerk=clerk, unit_code=unit)
    assert report.import_id is not None
    return report.import_id
