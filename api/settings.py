"""Web settings: cookies, lifetimes, upload limits, where report files go."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def _default_dir(name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"mutualaid-{os.getuid()}" / name


@dataclass(frozen=True)
class Settings:
    #: cookies only over HTTPS; switch off for plain-HTTP development on 127.0.0.1
    secure_cookies: bool = True
    session_cookie: str = "ma_session"
    session_ttl: dt.timedelta = dt.timedelta(hours=8)
    api_token_ttl: dt.timedelta = dt.timedelta(hours=8)
    #: largest accepted upload (the whole request body may be a little larger)
    max_upload_bytes: int = 50 * 1024 * 1024
    #: uploads are written here under generated names, and deleted after the import
    upload_dir: Path = field(default_factory=lambda: _default_dir("uploads"))
    #: reconciliation report files (one folder per run) and row-error reports of batches
    reports_dir: Path = field(default_factory=lambda: _default_dir("reports"))
    page_size: int = 50
    #: addresses of reverse proxies whose X-Forwarded-For / -Proto headers are believed
    #: (uvicorn's --forwarded-allow-ips: IPs or networks, "*" for any). Default: none, so
    #: a client cannot pick its own address for the login rate limit.
    forwarded_allow_ips: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        env = os.environ
        values: dict[str, object] = {}
        if "MUTUALAID_SECURE_COOKIES" in env:
            values["secure_cookies"] = env["MUTUALAID_SECURE_COOKIES"] not in ("0", "false", "no")
        if "MUTUALAID_SESSION_HOURS" in env:
            values["session_ttl"] = dt.timedelta(hours=float(env["MUTUALAID_SESSION_HOURS"]))
        if "MUTUALAID_MAX_UPLOAD_MB" in env:
            values["max_upload_bytes"] = int(float(env["MUTUALAID_MAX_UPLOAD_MB"]) * 1024 * 1024)
        if "MUTUALAID_UPLOAD_DIR" in env:
            values["upload_dir"] = Path(env["MUTUALAID_UPLOAD_DIR"])
        if "MUTUALAID_REPORTS_DIR" in env:
            values["reports_dir"] = Path(env["MUTUALAID_REPORTS_DIR"])
        if "MUTUALAID_FORWARDED_ALLOW_IPS" in env:
            values["forwarded_allow_ips"] = tuple(
                p.strip() for p in env["MUTUALAID_FORWARDED_ALLOW_IPS"].split(",") if p.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
