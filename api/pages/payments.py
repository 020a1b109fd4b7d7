"""Pages of the payment loop (批量代发): finance's runs (create, approve, export, results in)
and the failed payments / missing accounts a clerk fixes. Rules: mutualaid.payments.service."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from api.deps import DbDep, SessionDep, SettingsDep, page_require
from api.errors import AppError
from api.routers import payments as api
from api.schemas import MAX_INT
from api.web import lang_of, render
from mutualaid.payments import bankfile, service
from mutualaid.users import Principal

router = APIRouter(include_in_schema=False)
Finance = Annotated[Principal, Depends(page_require("payments.manage"))]
FailedReader = Annotated[Principal, Depends(page_require("payments.failed"))]
RunPath = Annotated[int, Path(ge=1, le=MAX_INT)]


def _runs_page(request: Request, session, **extra) -> Response:  # noqa: ANN001
    return render(request, "payments.html", runs=service.list_runs(session), today=dt.date.today().isoformat(),
                  templates=sorted(bankfile.templates().values(), key=lambda t: t.name != "generic"), **extra)


@router.get("/payments")
def payments_page(request: Request, user: Finance, session: SessionDep) -> Response:
    return _runs_page(request, session)


@router.post("/payments")
def payments_create(request: Request, user: Finance, db: DbDep,
                    as_of: Annotated[str, Form(max_length=10)] = "",
                    product: Annotated[str, Form(max_length=8)] = "") -> Response:
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        raise AppError(400, "err.bad_date") from None
    try:
        r = api.run_rule(db, lambda s: service.create_run(s, as_of=day, product=product or None, user=user.username))
    except AppError as e:
        with db.sessions() as session:
            return _runs_page(request, session, error=e.message(lang_of(request)))
    if r.run_id is None:
        with db.sessions() as session:
            return _runs_page(request, session, created=r)
    return RedirectResponse(f"/payments/runs/{r.run_id}?created=1&no_account={len(r.no_account)}"
                            f"&awaiting={len(r.awaiting_fix)}", status_code=303)


def _run_page(request: Request, db, run_id: int, error: str | None = None, report: dict | None = None,  # noqa: ANN001
              status: int = 200) -> Response:
    with db.sessions() as session:
        try:
            run = service.get_run(session, run_id)
        except service.PaymentError:
            raise AppError(404, "pay_no_run", run=run_id) from None
        items = service.run_items(session, run_id, limit=500)
    return render(request, "payment_run.html", status=status, run=run, items=items, error=error, report=report,
                  templates=sorted(bankfile.templates().values(), key=lambda t: t.name != "generic"),
                  notice={k: request.query_params.get(k) for k in ("created", "no_account", "awaiting", "dropped")})


@router.get("/payments/runs/{run_id}")
def run_page(request: Request, user: Finance, db: DbDep, run_id: RunPath) -> Response:
    return _run_page(request, db, run_id)


def _action(request: Request, db, run_id: int, fn) -> Response:  # noqa: ANN001
    try:
        api.run_rule(db, fn)
    except AppError as e:
        if e.status == 404:
            raise
        return _run_page(request, db, run_id, error=e.message(lang_of(request)), status=e.status)
    return RedirectResponse(f"/payments/runs/{run_id}", status_code=303)


@router.post("/payments/runs/{run_id}/approve")
def run_approve(request: Request, user: Finance, db: DbDep, run_id: RunPath) -> Response:
    return _action(request, db, run_id, lambda s: service.approve_run(s, run_id, user=user.username))


@router.post("/payments/runs/{run_id}/cancel")
def run_cancel(request: Request, user: Finance, db: DbDep, run_id: RunPath) -> Response:
    return _action(request, db, run_id, lambda s: service.cancel_run(s, run_id, user=user.username))


@router.post("/payments/runs/{run_id}/export")
def run_export(request: Request, user: Finance, db: DbDep, run_id: RunPath,
               template: Annotated[str, Form(max_length=32)] = "") -> Response:
    try:
        r = api.run_rule(db, lambda s: service.export_run(s, run_id, template=template or None, user=user.username))
        return api.export_response(r)
    except AppError as e:
        if e.status == 404:
            raise
        return _run_page(request, db, run_id, error=e.message(lang_of(request)), status=e.status)


@router.post("/payments/returns")
def returns_upload(request: Request, user: Finance, db: DbDep, settings: SettingsDep,
                   run_id: Annotated[int, Form(ge=1, le=MAX_INT)] = 1,
                   file: Annotated[UploadFile | None, File()] = None) -> Response:
    try:
        report = api.upload_returns(db, settings, user, file)
    except AppError as e:
        return _run_page(request, db, run_id, error=e.message(lang_of(request)), status=e.status)
    return _run_page(request, db, run_id, report=report)


@router.get("/payments/vouchers")
def vouchers_download(user: Finance, session: SessionDep,
                      month: Annotated[str, Query(pattern=r"^(20\d\d|2100)-(0[1-9]|1[0-2])$")]) -> Response:
    return Response(api.vouchers_csv(session, month), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="vouchers-{month}.csv"'})


@router.get("/payments/failed")
def failed_page(request: Request, user: FailedReader, session: SessionDep) -> Response:
    return render(request, "payments_failed.html", rows=api.failed_list(session, user))


@router.post("/payments/accounts")
def account_update(request: Request, user: Finance, db: DbDep, session: SessionDep,
                   claim_no: Annotated[str, Form(max_length=64)] = "",
                   account: Annotated[str, Form(max_length=40)] = "",
                   reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Finance corrects the account of the member of a listed claim (ID numbers never leave the server)."""
    rows = {f.claim_no: f for f in api.failed_list(session, user)}
    if claim_no not in rows:
        raise AppError(404, "err.not_found")
    member = rows[claim_no].member_id_number
    try:
        r = api.run_rule(db, lambda s: service.update_account(s, member, account, reason=reason, user=user.username))
    except AppError as e:
        return render(request, "payments_failed.html", status=e.status, rows=list(rows.values()),
                      error=e.message(lang_of(request)))
    with db.sessions() as s:
        return render(request, "payments_failed.html", rows=api.failed_list(s, user), released=r.released)
