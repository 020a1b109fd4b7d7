"""Web settings: cookies, lifetimes, upload limits, where report files go."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mutualaid.limits import ReadLimits


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
    #: upload limits, checked before and while a file is parsed (mutualaid.limits; README)
    max_upload_rows: int = 200_000
    max_cell_chars: int = 32_767
    xlsx_max_unpacked_bytes: int = 256 * 1024 * 1024
    xlsx_max_ratio: int = 200
    parse_seconds: float = 300.0
    parse_memory_bytes: int = 2048 * 1024 * 1024
    max_reported_errors: int = 10_000

    def read_limits(self) -> "ReadLimits":
        from mutualaid.limits import WEB

        return dataclasses.replace(
            WEB, max_rows=self.max_upload_rows, max_cell_chars=self.max_cell_chars, xlsx_max_part_bytes=self.xlsx_max_unpacked_bytes,
            xlsx_max_total_bytes=self.xlsx_max_unpacked_bytes + self.xlsx_max_unpacked_bytes // 4,
            xlsx_max_ratio=self.xlsx_max_ratio, parse_seconds=self.parse_seconds,
            parse_memory_bytes=self.parse_memory_bytes, max_reported_errors=self.max_reported_errors)

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
        for name, key, kind in (("MUTUALAID_UPLOAD_MAX_ROWS", "max_upload_rows", int),
                                ("MUTUALAID_UPLOAD_MAX_CELL_CHARS", "max_cell_chars", int),
                                ("MUTUALAID_UPLOAD_XLSX_MAX_MB", "xlsx_max_unpacked_bytes", "mb"),
                                ("MUTUALAID_UPLOAD_XLSX_MAX_RATIO", "xlsx_max_ratio", int),
                                ("MUTUALAID_UPLOAD_PARSE_SECONDS", "parse_seconds", float),
                                ("MUTUALAID_UPLOAD_PARSE_MEMORY_MB", "parse_memory_bytes", "mb"),
                                ("MUTUALAID_MAX_REPORTED_ERRORS", "max_reported_errors", int)):
            if name in env:
                values[key] = int(float(env[name]) * 1024 * 1024) if kind == "mb" else kind(env[name])  # type: ignore[operator]
        if "MUTUALAID_FORWARDED_ALLOW_IPS" in env:
            values["forwarded_allow_ips"] = tuple(
                p.strip() for p in env["MUTUALAID_FORWARDED_ALLOW_IPS"].split(",") if p.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
