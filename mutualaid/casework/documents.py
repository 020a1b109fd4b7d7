"""Claim documents: kinds, type by content, size limit, content-addressed storage, ZIP import.

The bytes are stored once per SHA-256 under ``<documents folder>/ab/cd/<sha256>``
(folders 0700, files 0600: never world-readable); ``claim_documents`` rows attach them to
claims. The folder is ``documents`` beside a SQLite database file by default (else
``./documents``); ``MUTUALAID_DOCUMENTS_DIR`` names another, ``MUTUALAID_DOCUMENT_MAX_MB``
the per-file limit (default 10 MB).
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutualaid import audit
from mutualaid.casework.service import CaseworkError
from mutualaid.imports import ImportReport, RowError
from mutualaid.store.db import Database
from mutualaid.store.models import Claim
from mutualaid.store.models_casework import ClaimDocument
from mutualaid.tabular import FileProblem

KINDS = ("invoice", "settlement_sheet", "discharge_summary", "pathology_report", "other")
#: media type by magic bytes; the extensions each may carry
TYPES = {"application/pdf": ("pdf",), "image/jpeg": ("jpg", "jpeg"), "image/png": ("png",)}
_MAGIC = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# ZIP limits: beyond these the whole ZIP is refused (exit 2), before anything is extracted
MAX_ENTRIES = 5000
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200  # per file: uncompressed / compressed; a real PDF or image compresses far less
_NAME = re.compile(r"^(?P<claim>.+)_(?P<kind>" + "|".join(sorted(KINDS, key=len, reverse=True))
                   + r")(?:[-_]\d{1,3})?\.(?P<ext>[A-Za-z]+)$")
KIND_ZIP = "DOCUMENTS"


@dataclass(frozen=True)
class DocumentSettings:
    folder: Path
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def for_database(cls, db_url: str) -> "DocumentSettings":
        env = os.environ
        if env.get("MUTUALAID_DOCUMENTS_DIR"):
            folder = Path(env["MUTUALAID_DOCUMENTS_DIR"])
        elif db_url.startswith("sqlite:///") and db_url[len("sqlite:///"):] not in ("", ":memory:"):
            folder = Path(db_url[len("sqlite:///"):]).resolve().parent / "documents"
        else:
            folder = Path("documents").resolve()
        max_bytes = DEFAULT_MAX_BYTES
        if env.get("MUTUALAID_DOCUMENT_MAX_MB"):
            max_bytes = int(float(env["MUTUALAID_DOCUMENT_MAX_MB"]) * 1024 * 1024)
        return cls(folder, max_bytes)


def sniff(data: bytes) -> str | None:
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    return None


def human_size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} B"


class DocumentStore:
    """Content-addressed files: the same bytes are stored once, whoever uploads them."""

    def __init__(self, settings: DocumentSettings):
        self.settings = settings
        self.root = settings.folder

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.is_file():
            return digest
        for folder in (self.root, target.parent.parent, target.parent):
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")  # mkstemp: 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


def check_content(data: bytes, ext: str | None, max_bytes: int) -> tuple[str | None, str | None, dict]:
    """(media type, error code, params): by size, then magic bytes, then the extension."""
    if not data:
        return None, "doc_empty", {}
    if len(data) > max_bytes:
        return None, "doc_too_big", {"size": human_size(len(data)), "limit": human_size(max_bytes)}
    media_type = sniff(data)
    if media_type is None:
        return None, "doc_bad_type", {}
    if ext is not None and ext.lower() not in TYPES[media_type]:
        return None, "doc_type_mismatch", {"ext": ext.lower(), "found": media_type}
    return media_type, None, {}


def _visible_claim(session: Session, claim_no: str, units: Collection[str] | None) -> Claim | None:
    from mutualaid.claims.queries import in_units, join_units

    q = select(Claim).where(Claim.claim_no == claim_no)
    if units is not None:
        q = join_units(q).where(in_units(units))
    return session.execute(q).scalar()


def _attach(session: Session, claim: Claim, kind: str, digest: str, size: int, media_type: str, file_name: str,
            user: str) -> tuple[ClaimDocument, bool]:
    found = session.execute(select(ClaimDocument).where(
        ClaimDocument.claim_id == claim.id, ClaimDocument.kind == kind, ClaimDocument.sha256 == digest)).scalar()
    if found is not None:
        return found, False
    doc = ClaimDocument(claim_id=claim.id, kind=kind, sha256=digest, size=size, media_type=media_type,
                        file_name=file_name[:255], uploaded_by=user)
    session.add(doc)
    session.flush()
    return doc, True


def add_document(session: Session, store: DocumentStore, claim_no: str, kind: str, data: bytes, file_name: str, *,
                 user: str, units: Collection[str] | None = None) -> tuple[ClaimDocument, bool]:
    """Attach one uploaded document (True: new; False: the same was already attached); caller commits."""
    if kind not in KINDS:
        raise CaseworkError("doc_unknown_kind", kind=kind, kinds=", ".join(KINDS))
    claim = _visible_claim(session, claim_no, units)
    if claim is None:
        raise CaseworkError("doc_unknown_claim", claim_no=claim_no)
    ext = file_name.rsplit(".", 1)[1] if "." in file_name else None
    media_type, problem, params = check_content(data, ext, store.settings.max_bytes)
    if problem:
        raise CaseworkError(problem, **params)
    assert media_type is not None
    digest = store.put(data)
    doc, new = _attach(session, claim, kind, digest, len(data), media_type, Path(file_name).name, user)
    if new:
        audit.record(session, user, "claim.document", "claim", claim_no,
                     {"kind": kind, "sha256": digest, "size": len(data), "media_type": media_type})
    return doc, new


def import_zip(db: Database, path: str | Path, *, user: str = "cli", units: Collection[str] | None = None,
               settings: DocumentSettings | None = None, file_name: str | None = None) -> ImportReport:
    """Attach every ``CLAIMNO_kind.ext`` of a ZIP; each bad file is a row error (row = its place in the ZIP).

    Raises :class:`FileProblem` (exit 2, nothing stored) for an unreadable file, a file that is
    no ZIP, or a ZIP beyond the entry-count or total-size limits. One transaction.
    """
    path = Path(path)
    settings = settings or DocumentSettings.for_database(db.url)
    store = DocumentStore(settings)
    name = file_name or path.name
    try:
        raw = path.read_bytes()
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError):
        raise FileProblem("doc_not_zip", name) from None
    report = ImportReport(KIND_ZIP, name, hashlib.sha256(raw).hexdigest())
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
                   and not Path(i.filename).name.startswith(".")]
        if len(entries) > MAX_ENTRIES:
            raise FileProblem("doc_zip_too_many", name, count=len(entries), limit=MAX_ENTRIES)
        declared = sum(i.file_size for i in entries)
        if declared > MAX_TOTAL_BYTES:
            raise FileProblem("doc_zip_too_large", name, size=human_size(declared), limit=human_size(MAX_TOTAL_BYTES))
        report.rows_total = len(entries)
        with db.transaction() as session:
            seen: dict[tuple[str, str, str], int] = {}
            for row, info in enumerate(entries, 1):
                base = Path(info.filename).name

                def bad(code: str, **params: object) -> None:
                    report.errors.append(RowError.of(row, "file", base, code, **params))  # noqa: B023

                m = _NAME.match(base)
                if m is None:
                    stem_kind = base.rsplit(".", 1)[0].rsplit("_", 1)
                    if len(stem_kind) == 2 and stem_kind[0]:
                        bad("doc_unknown_kind", kind=stem_kind[1], kinds=", ".join(KINDS))
                    else:
                        bad("doc_bad_name", kinds=", ".join(KINDS))
                    continue
                claim = _visible_claim(session, m["claim"], units)
                if claim is None:
                    bad("doc_unknown_claim", claim_no=m["claim"])
                    continue
                if info.flag_bits & 0x1:
                    bad("doc_encrypted")
                    continue
                if info.file_size > settings.max_bytes:
                    bad("doc_too_big", size=human_size(info.file_size), limit=human_size(settings.max_bytes))
                    continue
                if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                    bad("doc_zip_bomb", ratio=int(info.file_size / info.compress_size))
                    continue
                try:
                    with archive.open(info) as fh:
                        data = fh.read(settings.max_bytes + 1)  # never more, whatever the header claims
                except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError):
                    bad("doc_corrupt")
                    continue
                media_type, problem, params = check_content(data, m["ext"], settings.max_bytes)
                if problem:
                    bad(problem, **params)
                    continue
                assert media_type is not None
                digest = store.put(data)
                key = (claim.claim_no, m["kind"], digest)
                if key in seen:
                    bad("doc_duplicate", first=seen[key])
                    continue
                seen[key] = row
                _, new = _attach(session, claim, m["kind"], digest, len(data), media_type, base, user)
                if new:
                    report.stored += 1
                else:
                    report.unchanged += 1
            audit.record(session, user, "documents.import", "zip", name,
                         {"sha256": report.fingerprint, "files": report.rows_total, "stored": report.stored,
                          "unchanged": report.unchanged, "errors": len(report.errors)})
    return report


def documents_of(session: Session, claim_id: int) -> list[ClaimDocument]:
    return list(session.execute(select(ClaimDocument).where(ClaimDocument.claim_id == claim_id)
                                .order_by(ClaimDocument.kind, ClaimDocument.id)).scalars())


def document_for(session: Session, doc_id: int, *, units: Collection[str] | None) -> ClaimDocument | None:
    """A document, if its claim is one the user may see (clerks: their units' claims)."""
    from mutualaid.claims.queries import in_units, join_units

    q = select(ClaimDocument).join(Claim, Claim.id == ClaimDocument.claim_id).where(ClaimDocument.id == doc_id)
    if units is not None:
        q = join_units(q).where(in_units(units))
    return session.execute(q).scalar()
