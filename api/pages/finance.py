"""Pages for finance (ledger, reconciliation) and administrators (users)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from api import services
from api.charts import grouped_bars
from api.deps import (
    DbDep,
    JobsDep,
    LedgerImporter,
    ReconReader,
    ReconResolver,
    ReconRunner,
    SessionDep,
    SettingsDep,
    UserAdmin,
)
from api.errors import AppError
from api.pages.claims import _import_page
from api.schemas import MAX_INT
from api.web import lang_of, money_text, render
from mutualaid import dashboard as dashboard_figures
from mutualaid import enrollments, imports
from mutualaid import users as user_cases
from mutualaid.claims.status import PRODUCTS
from mutualaid.i18n import ui
from mutualaid.ledger import queries as ledger_queries
from mutualaid.ledger import service as reconciliation
from mutualaid.ledger.reconcile import STATUS_ORDER
from mutualaid.users import ROLES

router = APIRouter(include_in_schema=False)
PageNo = Annotated[int, Query(ge=1, le=100_000)]
MonthPath = Annotated[str, Path(pattern=r"^(20\d\d|2100)-(0[1-9]|1[0-2])$")]
RECON_STATUSES = STATUS_ORDER  # the filter lists them in report order


def _last_month() -> str:
    first = dt.date.today().replace(day=1)
    return f"{first - dt.timedelta(days=1):%Y-%m}"


def _recon_month(session: SessionDep) -> str:
    """The month the form proposes: last month, or the latest earlier month with decisions
    or ledger lines (a store of past years does not open on an empty month)."""
    today = dt.date.today()
    active = dashboard_figures.as_of_month(session, None, today)
    return _last_month() if (active.year, active.month) == (today.year, today.month) else f"{active:%Y-%m}"


# --- ledger ---------------------------------------------------------------------------------------

@router.get("/ledger")
def ledger_page(request: Request, user: LedgerImporter, session: SessionDep,
                settings: SettingsDep) -> Response:
    return render(request, "imports.html", kind="LEDGER", recent=imports.list_imports(session, "LEDGER"),
                  max_upload=services.human_size(settings.max_upload_bytes),
                  balance=ledger_queries.fund_balance(session, dt.date.today()))


@router.post("/ledger")
def ledger_upload(request: Request, user: LedgerImporter, db: DbDep, session: SessionDep,
                  settings: SettingsDep, file: Annotated[UploadFile | None, File()] = None) -> Response:
    return _import_page(request, "LEDGER", user, db, session, settings, file)


# --- reconciliation --------------------------------------------------------------------------------

@router.get("/recon")
def recon_index(request: Request, user: ReconReader, session: SessionDep, jobs: JobsDep) -> Response:
    return render(request, "recon_index.html", runs=ledger_queries.recon_runs(session, limit=36),
                  default_month=_recon_month(session), job=jobs.running("reconcile"))


@router.post("/recon")
def recon_start(request: Request, user: ReconRunner, db: DbDep, settings: SettingsDep, jobs: JobsDep,
                month: Annotated[str, Form(max_length=7)] = "") -> Response:
    if len(month) != 7 or not month[:4].isdigit() or month[4] != "-" or month[5:] not in {f"{m:02d}" for m in range(1, 13)}:
        raise AppError(400, "err.bad_month")
    job = services.start_reconciliation(jobs, db, settings, user, month)
    if request.headers.get("hx-request") == "true":
        return render(request, "_job.html", job=job)
    return RedirectResponse("/recon", status_code=303)


@router.get("/recon/{month}")
def recon_month(request: Request, user: ReconReader, session: SessionDep, settings: SettingsDep,
                month: MonthPath, status: str | None = None, product: str | None = None,
                resolved: str | None = None, claim_no: str | None = None, page: PageNo = 1) -> Response:
    run = ledger_queries.latest_run(session, month)
    lang = lang_of(request)
    months = ledger_queries.months_back(month, 12)
    paid = ledger_queries.payouts_by_month(session, months)
    products = [*PRODUCTS, *sorted({p for m in paid.values() for p in m} - set(PRODUCTS))]
    chart = grouped_bars(months, [(p, [paid[m].get(p, 0) for m in months]) for p in products],
                         label=lambda p: ui(f"product.{p}", lang), value_text=lambda fen: money_text(fen)[:-3],
                         title=ui("recon.chart", lang))
    items = None
    f = ledger_queries.ReconItemFilter(status=status if status in RECON_STATUSES else None,
                              product=product if product in PRODUCTS else None,
                              resolved={"yes": True, "no": False}.get(resolved or ""),
                              claim_no=(claim_no or "").strip()[:80] or None)
    files: list[str] = []
    pay = None
    if run is not None:
        items = ledger_queries.recon_items(session, run, f, page=page, page_size=settings.page_size)
        files = sorted(services.report_files(settings, run, latest=True))
        pay = reconciliation.item_payment_states(session, items.items)
    return render(request, "recon_month.html", month=month, run=run, items=items, chart=chart, files=files, pay=pay,
                  statuses=RECON_STATUSES, form={"status": status or "", "product": product or "",
                                                 "resolved": resolved or "", "claim_no": claim_no or ""})


@router.post("/recon/{month}/resolve")
def recon_resolve(request: Request, user: ReconResolver, db: DbDep, month: MonthPath,
                  item_key: Annotated[str, Form(max_length=80)] = "", note: Annotated[str, Form(max_length=2000)] = "",
                  ) -> Response:
    lang = lang_of(request)
    error = None
    try:
        if "\x00" in item_key or "\x00" in note:
            raise AppError(400, "err.nul")
        services.resolve_item(db, user, month, item_key, note)
    except AppError as e:
        if e.status == 404:
            raise
        error = e.message(lang)
    with db.sessions() as session:
        run = ledger_queries.latest_run(session, month)
        item = ledger_queries.recon_item(session, run, item_key) if run else None
        pay = reconciliation.item_payment_states(session, [item]) if item else None
    if item is None:
        raise AppError(404, "err.item_not_found")
    if request.headers.get("hx-request") == "true":
        return render(request, "_recon_item.html", status=400 if error else 200, i=item, month=month, error=error,
                      pay=pay)
    return RedirectResponse(f"/recon/{month}", status_code=303)


@router.get("/recon/runs/{run_id}/files/{name}")
def recon_file(user: ReconReader, session: SessionDep, settings: SettingsDep,
               run_id: Annotated[int, Path(ge=1, le=MAX_INT)], name: str) -> Response:
    run = ledger_queries.recon_run(session, run_id)
    if run is None:
        raise AppError(404, "err.run_not_found")
    latest = ledger_queries.latest_run(session, run.month)
    path = services.report_file(settings, run, name, latest=latest is not None and latest.id == run.id)
    media = {"items.csv": "text/csv; charset=utf-8", "summary.json": "application/json"}.get(
        name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return FileResponse(path, media_type=media, filename=f"{run.month}-{name}")


# --- users (admin) ---------------------------------------------------------------------------------

@router.get("/admin/users")
def users_page(request: Request, user: UserAdmin, session: SessionDep) -> Response:
    return render(request, "users.html", users=user_cases.list_users(session), roles=ROLES, form={},
                  units=enrollments.unit_names(session))


@router.post("/admin/users")
def users_create(request: Request, user: UserAdmin, db: DbDep,
                 username: Annotated[str, Form(max_length=64)] = "", password: Annotated[str, Form(max_length=256)] = "",
                 role: Annotated[str, Form(max_length=16)] = "", unit_codes: Annotated[str, Form(max_length=2000)] = "",
                 display_name: Annotated[str, Form(max_length=100)] = "") -> Response:
    lang = lang_of(request)
    error, created, status = None, None, 200
    try:
        if any("\x00" in v for v in (username, password, unit_codes, display_name)):
            raise user_cases.UserError("bad_username")
        with db.transaction() as session:
            created = user_cases.create_user(
                session, username=username, password=password, role=role, actor=user.username,
                unit_codes=[u for u in unit_codes.replace("，", ",").replace(" ", ",").split(",") if u],
                display_name=display_name)
    except user_cases.UserError as e:
        error, status = ui(e.code, lang, **e.params), 400
    with db.sessions() as session:
        return render(request, "users.html", status=status, users=user_cases.list_users(session), roles=ROLES,
                      error=error, created=created, units=enrollments.unit_names(session),
                      form={} if created else {"username": username, "role": role, "unit_codes": unit_codes,
                                               "display_name": display_name})


@router.post("/admin/users/{username}/active")
def users_toggle(request: Request, user: UserAdmin, db: DbDep,
                 username: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")],
                 active: Annotated[int, Form(ge=0, le=1)] = 0) -> Response:
    try:
        with db.transaction() as session:
            user_cases.set_active(session, username, bool(active), actor=user.username)
    except user_cases.UserError as e:
        raise AppError(404 if e.code == "no_such_user" else 400, e.code, **e.params) from None
    return RedirectResponse("/admin/users", status_code=303)
