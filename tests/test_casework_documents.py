"""Claim documents: type by content, size and ZIP limits, content-addressed storage, the ZIP import."""
import csv
import hashlib
import stat
import zipfile

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mutualaid.casework import documents as docs
from mutualaid.casework.documents import DocumentSettings, DocumentStore, add_document, import_zip, sniff
from mutualaid.casework.service import CaseworkError
from mutualaid.claims.intake import submit_batch
from mutualaid.store.models_casework import ClaimDocument
from mutualaid.tabular import FileProblem
from tests.test_import import CLAIM_HEAD, hosp_row, women_row, write

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(100, 180))


@pytest.fixture
def claims(db, tmp_path):
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(), women_row()]))
    return db


@pytest.fixture
def settings(tmp_path):
    return DocumentSettings(tmp_path / "documents", max_bytes=64 * 1024)


def make_zip(path, files, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in files:
            z.writestr(name, data)
    return path


def test_sniff_by_magic_bytes():
    assert (sniff(PDF), sniff(PNG), sniff(JPEG)) == ("application/pdf", "image/png", "image/jpeg")
    assert sniff(b"<html><script>") is None and sniff(b"") is None
    assert sniff(b"GIF89a") is None


def test_store_is_content_addressed_and_private(tmp_path, settings):
    store = DocumentStore(settings)
    digest = store.put(PDF)
    assert digest == hashlib.sha256(PDF).hexdigest()
    path = store.path(digest)
    assert path == settings.folder / digest[:2] / digest[2:4] / digest and path.read_bytes() == PDF
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (settings.folder, path.parent, path.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert store.put(PDF) == digest and len(list(settings.folder.rglob("*"))) == 3  # two folders + one file
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def test_default_folder_is_beside_the_sqlite_database(tmp_path, monkeypatch):
    monkeypatch.delenv("MUTUALAID_DOCUMENTS_DIR", raising=False)
    monkeypatch.delenv("MUTUALAID_DOCUMENT_MAX_MB", raising=False)
    s = DocumentSettings.for_database(f"sqlite:///{tmp_path}/x/ma.db")
    assert (s.folder, s.max_bytes) == (tmp_path / "x" / "documents", 10 * 1024 * 1024)
    monkeypatch.setenv("MUTUALAID_DOCUMENTS_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("MUTUALAID_DOCUMENT_MAX_MB", "2")
    s = DocumentSettings.for_database("postgresql+psycopg://x/y")
    assert (s.folder, s.max_bytes) == (tmp_path / "elsewhere", 2 * 1024 * 1024)


@pytest.mark.parametrize("data,name,code", [
    (b"hello", "a.pdf", "doc_bad_type"),
    (b"", "a.pdf", "doc_empty"),
    (PNG, "a.pdf", "doc_type_mismatch"),
    (PDF + b"x" * 70_000, "a.pdf", "doc_too_big"),
])
def test_single_upload_refuses_bad_content(claims, settings, data, name, code):
    with claims.transaction() as s, pytest.raises(CaseworkError) as e:
        add_document(s, DocumentStore(settings), "TL2026-0001", "invoice", data, name, user="clerk1")
    assert e.value.code == code


def test_single_upload_scope_and_kind(claims, settings):
    store = DocumentStore(settings)
    with claims.transaction() as s, pytest.raises(CaseworkError) as e:
        add_document(s, store, "TL2026-0001", "receipt", PDF, "a.pdf", user="clerk1")
    assert e.value.code == "doc_unknown_kind"
    with claims.transaction() as s, pytest.raises(CaseworkError) as e:  # a clerk of another unit
        add_document(s, store, "TL2026-0001", "invoice", PDF, "a.pdf", user="clerk1", units=["TL9999"])
    assert e.value.code == "doc_unknown_claim"
    with claims.transaction() as s:
        doc, new = add_document(s, store, "TL2026-0001", "invoice", PDF, "发票.pdf", user="clerk1")
        assert new and (doc.media_type, doc.size, doc.file_name) == ("application/pdf", len(PDF), "发票.pdf")
    with claims.transaction() as s:
        _, new = add_document(s, store, "TL2026-0001", "invoice", PDF, "again.pdf", user="clerk1")
        assert not new


def test_zip_import_reports_each_bad_file(claims, settings, tmp_path):
    bomb = PDF + b"\x00" * 60_000  # under the size limit, but compresses > 200 times
    z = make_zip(tmp_path / "docs.zip", [
        ("TL2026-0001_invoice.pdf", PDF),
        ("scans/TL2026-0001_settlement_sheet.png", PNG),
        ("TL2026-W001_pathology_report-2.jpg", JPEG),
        ("TL2026-0001_receipt.pdf", PDF),  # unknown kind
        ("NOPE-1_invoice.pdf", PDF),  # unknown claim
        ("invoice.pdf", PDF),  # no claim number
        ("TL2026-0001_other.pdf", b"<html>not a pdf</html>"),  # bad type
        ("TL2026-0001_discharge_summary.pdf", PNG),  # extension and content differ
        ("TL2026-0001_other.png", PNG + b"x" * 70_000),  # too big
        ("TL2026-W001_other.pdf", bomb),
        ("TL2026-0001_invoice-2.pdf", PDF),  # same bytes and kind as file 1
        ("__MACOSX/._TL2026-0001_invoice.pdf", b"junk"),  # ignored
    ])
    rep = import_zip(claims, z, user="clerk1", settings=settings)
    assert (rep.rows_total, rep.stored, rep.unchanged) == (11, 3, 0)
    assert [(e.row, e.value, e.code) for e in rep.errors] == [
        (4, "TL2026-0001_receipt.pdf", "doc_unknown_kind"),
        (5, "NOPE-1_invoice.pdf", "doc_unknown_claim"),
        (6, "invoice.pdf", "doc_bad_name"),
        (7, "TL2026-0001_other.pdf", "doc_bad_type"),
        (8, "TL2026-0001_discharge_summary.pdf", "doc_type_mismatch"),
        (9, "TL2026-0001_other.png", "doc_too_big"),
        (10, "TL2026-W001_other.pdf", "doc_zip_bomb"),
        (11, "TL2026-0001_invoice-2.pdf", "doc_duplicate"),
    ]
    assert rep.exit_code == 1
    with claims.sessions() as s:
        kinds = sorted(s.execute(select(ClaimDocument.kind)).scalars())
    assert kinds == ["invoice", "pathology_report", "settlement_sheet"]
    again = import_zip(claims, z, user="clerk1", settings=settings)
    assert (again.stored, again.unchanged) == (0, 3)


def test_zip_import_refuses_whole_file(claims, settings, tmp_path, monkeypatch):
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"PK but not really")
    with pytest.raises(FileProblem) as e:
        import_zip(claims, not_zip, settings=settings)
    assert e.value.code == "doc_not_zip"
    monkeypatch.setattr(docs, "MAX_ENTRIES", 2)
    z = make_zip(tmp_path / "many.zip", [(f"TL2026-0001_other-{i}.pdf", PDF) for i in range(3)])
    with pytest.raises(FileProblem) as e:
        import_zip(claims, z, settings=settings)
    assert e.value.code == "doc_zip_too_many"
    monkeypatch.setattr(docs, "MAX_TOTAL_BYTES", 100)
    z = make_zip(tmp_path / "big.zip", [("TL2026-0001_other.pdf", PDF * 4)])
    with pytest.raises(FileProblem) as e:
        import_zip(claims, z, settings=settings)
    assert e.value.code == "doc_zip_too_large"
    with claims.sessions() as s:
        assert s.execute(select(ClaimDocument)).first() is None


def test_zip_with_lying_header_reads_no_more_than_the_limit(claims, settings, tmp_path):
    big = PDF + bytes(range(256)) * 400  # ~100 KB > 64 KB limit, low ratio
    z = make_zip(tmp_path / "lie.zip", [("TL2026-0001_other.pdf", big)], compression=zipfile.ZIP_STORED)
    raw = bytearray(z.read_bytes())
    # rewrite the declared uncompressed size in both headers to something small
    size = len(big).to_bytes(4, "little")
    raw = raw.replace(size, (1000).to_bytes(4, "little"))
    z.write_bytes(bytes(raw))
    rep = import_zip(claims, z, settings=settings)
    assert rep.stored == 0 and [e.code for e in rep.errors] in (["doc_corrupt"], ["doc_too_big"])


def test_cli_documents_import_exit_codes(claims, tmp_path, monkeypatch):
    from mutualaid.cli import app

    monkeypatch.setenv("MUTUALAID_DOCUMENTS_DIR", str(tmp_path / "store"))
    runner = CliRunner()
    good = make_zip(tmp_path / "good.zip", [("TL2026-0001_invoice.pdf", PDF)])
    r = runner.invoke(app, ["documents", "import", str(good), "--db", claims.url])
    assert r.exit_code == 0, r.output
    bad = make_zip(tmp_path / "bad.zip", [("TL2026-0001_invoice.pdf", PDF), ("X_invoice.pdf", PDF)])
    errors = tmp_path / "errors.csv"
    r = runner.invoke(app, ["documents", "import", str(bad), "--errors", str(errors), "--db", claims.url])
    assert r.exit_code == 1, r.output
    rows = list(csv.DictReader(open(errors, encoding="utf-8-sig")))
    assert [(x["row"], x["column"], x["value"]) for x in rows] == [("2", "file", "X_invoice.pdf")]
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"nope")
    r = runner.invoke(app, ["documents", "import", str(junk), "--db", claims.url])
    assert r.exit_code == 2
    r = runner.invoke(app, ["documents", "import", str(tmp_path / "missing.zip"), "--db", claims.url])
    assert r.exit_code == 2


def test_encrypted_member_is_a_row_error(claims, settings, tmp_path):
    z = make_zip(tmp_path / "enc.zip", [("TL2026-0001_invoice.pdf", PDF), ("TL2026-0001_other.pdf", PDF + b"2")],
                 compression=zipfile.ZIP_STORED)
    raw = bytearray(z.read_bytes())
    # mark the second member encrypted (general purpose flag bit 0) in its local and central headers
    local = raw.find(b"PK\x03\x04", raw.find(b"PK\x03\x04") + 4)
    central = raw.find(b"PK\x01\x02", raw.find(b"PK\x01\x02") + 4)
    raw[local + 6] |= 1
    raw[central + 8] |= 1
    z.write_bytes(bytes(raw))
    rep = import_zip(claims, z, settings=settings)
    assert rep.stored == 1 and [(e.row, e.code) for e in rep.errors] == [(2, "doc_encrypted")]
