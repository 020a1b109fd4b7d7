"""Issue 14, logins: forwarded headers only from configured proxies, a growing delay per
(user, address), passwords of 12+ characters that are not common."""
from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from api.server import proxy_options
from api.settings import Settings
from mutualaid import users
from mutualaid.store.db import Database
from tests.web_support import fast_hashes  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
GOOD = "correct-horse-9"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, data: dict, headers: dict) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/token",
                                 data=urllib.parse.urlencode(data).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_rotating_x_forwarded_for_does_not_escape_the_limit(tmp_path: Path) -> None:
    """The real server, as `mutualaid serve` starts it, with no proxy configured."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    db = Database(url)
    with db.transaction() as s:
        users.create_user(s, username="clerk1", password=GOOD, role="auditor", actor="test")
    db.dispose()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("FORWARDED_ALLOW_IPS", "MUTUALAID_FORWARDED_ALLOW_IPS")}
    env.update(MUTUALAID_DB=url, MUTUALAID_SECURE_COOKIES="0", MUTUALAID_UPLOAD_DIR=str(tmp_path / "up"),
               MUTUALAID_REPORTS_DIR=str(tmp_path / "rep"))
    server = subprocess.Popen([sys.executable, "-m", "api.server", "--port", str(port), "--no-access-log",
                               "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.2)
        codes = [_post(port, {"username": "clerk1", "password": f"guess-{i}"},
                       {"X-Forwarded-For": f"203.0.113.{i}", "Forwarded": f"for=198.51.100.{i}"})
                 for i in range(20)]
        assert codes[:users.MAX_FAILURES] == [401] * users.MAX_FAILURES
        assert set(codes[users.MAX_FAILURES:]) == {429}, codes
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_proxy_headers_only_from_configured_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MUTUALAID_FORWARDED_ALLOW_IPS", raising=False)
    assert proxy_options() == {"proxy_headers": False}
    assert Settings.from_env().forwarded_allow_ips == ()
    monkeypatch.setenv("MUTUALAID_FORWARDED_ALLOW_IPS", "10.0.0.5, 10.1.0.0/16")
    assert Settings.from_env().forwarded_allow_ips == ("10.0.0.5", "10.1.0.0/16")
    assert proxy_options() == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.1.0.0/16"}


# --- growing delay per (user, address) ------------------------------------------------------

def _user(db: Database) -> None:
    with db.transaction() as s:
        users.create_user(s, username="clerk1", password=GOOD, role="auditor", actor="test")


def _fail(db: Database, at: dt.datetime, ip: str = "10.0.0.1") -> None:
    with pytest.raises(users.BadCredentials):
        users.authenticate(db, "clerk1", "wrong-password", ip=ip, now=at)


@pytest.mark.store
def test_delay_grows_with_each_failure(db, fast_hashes) -> None:  # noqa: ANN001, F811
    _user(db)
    t = dt.datetime(2026, 11, 30, 9, 0, 0)
    for _ in range(users.FREE_FAILURES + 1):
        _fail(db, t)
    waits = []
    for _ in range(4):   # after the 5th failure 30 s, then 60 s, 120 s, 240 s
        with pytest.raises(users.RateLimited) as limited:
            users.authenticate(db, "clerk1", GOOD, ip="10.0.0.1", now=t + dt.timedelta(seconds=1))
        waits.append(limited.value.retry_after + 1)
        t += dt.timedelta(seconds=limited.value.retry_after + 1)
        _fail(db, t)
    assert waits == [30, 60, 120, 240]
    with pytest.raises(users.RateLimited) as limited:
        users.authenticate(db, "clerk1", GOOD, ip="10.0.0.1", now=t + dt.timedelta(seconds=479))
    assert limited.value.retry_after == 1
    assert users.authenticate(db, "clerk1", GOOD, ip="10.0.0.1", now=t + dt.timedelta(seconds=480)).username == "clerk1"
    assert users.delay_after(30) == users.MAX_DELAY


@pytest.mark.store
def test_an_attacker_elsewhere_cannot_lock_the_user_out(db, fast_hashes) -> None:  # noqa: ANN001, F811
    _user(db)
    t = dt.datetime(2026, 11, 30, 9, 0, 0)
    for k in range(12):
        try:
            _fail(db, t + dt.timedelta(minutes=k * 10 / 12), ip="203.0.113.9")
        except users.RateLimited:
            pass
    with pytest.raises(users.RateLimited):
        users.authenticate(db, "clerk1", GOOD, ip="203.0.113.9", now=t + dt.timedelta(minutes=11))
    # the clerk, at the office
    assert users.authenticate(db, "clerk1", GOOD, ip="10.0.0.7", now=t + dt.timedelta(minutes=11)).role == "auditor"


# --- password policy ------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["short-pass1", "s3cret-pass", "password1234", "Password1234", "qwertyuiop123",
                                      "1q2w3e4r5t6y", "woaini5201314", "aaaaaaaaaaaaaaa", "123456789012",
                                      "ababababababab", "clerk1-is-me-2026"])
def test_weak_passwords_refused_for_every_role(db, fast_hashes, password: str) -> None:  # noqa: ANN001, F811
    for role in users.ROLES:
        with db.transaction() as s, pytest.raises(users.UserError) as e:
            users.create_user(s, username="clerk1", password=password, role=role, actor="test",
                              unit_codes=["TL0001"])
        assert e.value.code == "bad_password"


def test_common_list_is_shipped_and_long_passwords_accepted() -> None:
    common = users.common_passwords()
    assert len(common) > 300 and all(len(p) >= 12 for p in common)
    users.check_password("correct-horse-battery", username="clerk1")
    users.check_password(GOOD)


@pytest.mark.store
def test_demo_users_get_strong_passwords(db, fast_hashes) -> None:  # noqa: ANN001, F811
    from mutualaid.demo import create_demo_users

    made = create_demo_users(db)
    assert {r for r, _, _ in made} == set(users.ROLES)
    for _, username, password in made:
        assert len(password) >= 12
        users.check_password(password, username=username)
