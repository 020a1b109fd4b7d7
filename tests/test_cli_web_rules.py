"""The rules an operator can hit are met the same way from the CLI and from the web.

Both interfaces call one service function (docs/architecture.md): the review's reason,
four eyes and payout limit (``mutualaid.claims.service.review_claim``), the unit scope of
a clerk (``claims.service``), and finance's note on a reconciliation item, which must be
an item of the month's latest run (``mutualaid.ledger.service.resolve``).
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import batch.adjudicate as adj
from api import services
from api.errors import AppError
from mutualaid.claims import service as claims_service
from mutualaid.claims.intake import submit_batch
from mutualaid.cli import app
from mutualaid.enrollments import import_roster
from mutualaid.store.models import Claim, ReconItem, ReconResolution, ReconRun
from mutualaid.users import Principal
from tests.test_import import CLAIM_HEAD, ROSTER_HEAD, hosp_row, roster_row, write

runner = CliRunner()
DAY = dt.date(2026, 7, 2)


def cli(db, *args):  # noqa: ANN001, ANN002
    return runner.invoke(app, [*args, "--db", db.url], catch_exceptions=False)


def user(name: str, role: str = "auditor", units: tuple[str, ...] = ()) -> Principal:
    return Principal(1, name, role, units)


@pytest.fixture
def pending(db, tmp_path):  # noqa: ANN001, ANN201
    """Claim P held for review (a name typo, V02), filed by clerk1 for unit U1."""
    import_roster(db, write(tmp_path / "r.csv", ROSTER_HEAD, [roster_row()]))
    submit_batch(db, write(tmp_path / "c.csv", CLAIM_HEAD, [hosp_row(claim_no="P", member_name="王莉")]),
                 clerk="clerk1", unit_code="U1")
    adj.run(db, as_of=dt.date(2026, 7, 1))
    with db.sessions() as s:
        claim = s.execute(select(Claim).where(Claim.claim_no == "P")).scalar()
        assert claim.status == "PENDING_REVIEW"
        return claim.id, claim.version


def test_four_eyes_from_both_interfaces(db, pending) -> None:  # noqa: ANN001
    claim_id, version = pending
    r = cli(db, "review", "approve", "P", "--reason", "核对无误", "--user", "clerk1", "--as-of", "2026-07-02")
    assert r.exit_code == 2 and "another auditor" in r.output
    with pytest.raises(AppError) as e:
        services.review_claim(db, user("clerk1"), claim_id, action="approve", reason="核对无误", version=version,
                              as_of=DAY)
    assert (e.value.status, e.value.code) == (403, "err.own_batch")


def test_reason_and_payout_limit_from_both_interfaces(db, pending) -> None:  # noqa: ANN001
    claim_id, version = pending
    r = cli(db, "review", "approve", "P", "--reason", "  ", "--user", "a1", "--as-of", "2026-07-02")
    assert r.exit_code == 2 and "reason is required" in r.output
    with pytest.raises(AppError) as e:
        services.review_claim(db, user("a1"), claim_id, action="approve", reason="  ", version=version, as_of=DAY)
    assert (e.value.status, e.value.code) == (400, "err.reason_required")

    r = cli(db, "review", "approve", "P", "--reason", "改判", "--user", "a1", "--amount", "9999999", "--as-of",
            "2026-07-02")
    assert r.exit_code == 2 and "exceeds the limit" in r.output
    with pytest.raises(AppError) as e:
        services.review_claim(db, user("a1"), claim_id, action="override", reason="改判", version=version,
                              payout_fen=999_999_900, as_of=DAY)
    assert e.value.status == 400 and "exceeds the limit" in e.value.params["details"]

    r = cli(db, "review", "approve", "P", "--reason", "核对无误", "--user", "a1", "--as-of", "2026-07-02")
    assert r.exit_code == 0 and "APPROVED" in r.output


def test_unit_scope_is_the_services(db, pending) -> None:  # noqa: ANN001
    """A clerk of another unit cannot reach the claim; the CLI (no signed-in user) reaches every unit."""
    claim_id, version = pending
    with pytest.raises(claims_service.ClaimNotFound):
        claims_service.review_claim(db, user="c2", action="approve", reason="r", as_of=DAY, claim_no="P",
                                    units=frozenset({"U2"}))
    with pytest.raises(claims_service.ClaimNotFound):
        claims_service.visible_claim(db, frozenset({"U2"}), claim_id)
    assert claims_service.visible_claim(db, frozenset({"U1"}), claim_id) == ("P", "clerk1")
    assert claims_service.visible_claim(db, None, claim_id) == ("P", "clerk1")

    clerk = user("clerk1", "clerk", ("U1",))
    assert claims_service.submission_unit(clerk, None) == "U1"
    with pytest.raises(claims_service.NotYourUnit):
        claims_service.submission_unit(clerk, "U2")
    with pytest.raises(claims_service.UnitRequired):
        claims_service.submission_unit(user("c3", "clerk", ("U1", "U2")), " ")
    assert claims_service.submission_unit(user("root", "admin"), "U9") == "U9"
    with pytest.raises(AppError) as e:
        services.check_unit(clerk, "U2")
    assert (e.value.status, e.value.code) == (403, "err.not_your_unit")


def test_resolve_takes_an_item_of_the_months_latest_run(db) -> None:  # noqa: ANN001
    """An item only an older run lists is refused by both interfaces, with the same rule."""
    with db.transaction() as s:
        for keys in (["OLD", "BOTH"], ["BOTH", "NEW"]):
            run = ReconRun(month="2026-07", created_by="f1", inputs_fingerprint="x", summary={})
            s.add(run)
            s.flush()
            s.add_all(ReconItem(run_id=run.id, item_key=k, claim_no=k, product="HOSP", status="UNPAID",
                                approved_fen=100, paid_fen=0, difference_fen=-100, vouchers="", days_outstanding=1)
                      for k in keys)
    finance = user("f1", "finance")

    r = cli(db, "reconcile", "resolve", "--month", "2026-07", "--item", "OLD", "--note", "已付", "--user", "f1")
    assert r.exit_code == 2 and "latest reconciliation" in r.output
    with pytest.raises(AppError) as e:
        services.resolve_item(db, finance, "2026-07", "OLD", "已付")
    assert (e.value.status, e.value.code) == (404, "err.item_not_found")

    r = cli(db, "reconcile", "resolve", "--month", "2026-07", "--item", "NEW", "--note", "  ", "--user", "f1")
    assert r.exit_code == 2
    with pytest.raises(AppError) as e:
        services.resolve_item(db, finance, "2026-07", "NEW", "  ")
    assert (e.value.status, e.value.code) == (400, "err.note_required")

    r = cli(db, "reconcile", "resolve", "--month", "2026-07", "--item", "NEW", "--note", " 已付 ", "--user", "f1")
    assert r.exit_code == 0, r.output
    services.resolve_item(db, finance, "2026-07", "BOTH", "已核对")
    with db.sessions() as s:
        notes = dict(s.execute(select(ReconResolution.item_key, ReconResolution.note)).all())
    assert notes == {"NEW": "已付", "BOTH": "已核对"}


def test_casework_actions_keep_to_the_users_units(db, pending) -> None:  # noqa: ANN001
    """Returns, appeals, corrections, documents and verdicts reach a claim through its unit."""
    from mutualaid.casework import actions

    claim_id, version = pending
    other = user("c2", "clerk", ("U2",))
    for act in (lambda: actions.return_claim(db, other, claim_id, reason_code="other", note="n", version=version,
                                             as_of=DAY),
                lambda: actions.appeal_claim(db, other, claim_id, note="n", as_of=DAY),
                lambda: actions.correct_claim(db, other, claim_id, {}),
                lambda: actions.add_document(db, other, claim_id, "invoice", b"%PDF-1.4", "a.pdf"),
                lambda: actions.record_verdict(db, other, claim_id, "agree", None),
                lambda: actions.case_file(db, other, claim_id)):
        with pytest.raises(claims_service.ClaimNotFound):
            act()
    own = actions.case_file(db, user("clerk1", "clerk", ("U1",)), claim_id)
    assert (own["claim_no"], own["own_batch"], own["status"]) == ("P", True, "PENDING_REVIEW")
    returned = actions.return_claim(db, user("a1"), claim_id, reason_code="other", note="补材料", version=version,
                                    as_of=DAY)
    assert returned.status == "RETURNED"
