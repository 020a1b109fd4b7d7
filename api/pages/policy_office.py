"""Pages of the policy office (admin and finance): what-if runs of a draft, the year report."""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import shutil
import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.charts import grouped_bars
from api.deps import DbDep, JobsDep, SettingsDep, page_require
from api.errors import AppError
from api.jobs import JobBusy, JobFailed
from api.web import lang_of, money_text, render
from mutualaid.i18n import ui
from mutualaid.money import parse_fen
from mutualaid.policy.loader import DRAFTS_DIR
from mutualaid.users import Principal

router = APIRouter(include_in_schema=False)
Simulator = Annotated[Principal, Depends(page_require("office.simulate"))]
YearReader = Annotated[Principal, Depends(page_require("office.year"))]
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
FileName = Annotated[str, Path(pattern=r"^(summary\.json|report\.xlsx)$")]
YearQ = Annotated[int | None, Query(ge=2000, le=2100)]
MAX_DRAFT_BYTES = 256 * 1024
MEDIA = {"summary.json": "application/json",
         "report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _whatif_dir(settings: Any) -> FsPath:
    d = settings.reports_dir / "whatif"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def _runs(settings: Any) -> list[dict]:
    out = []
    for p in sorted(_whatif_dir(settings).glob("*/summary.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:20]:
        try:
            s = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append({"id": p.parent.name, "year": s.get("year"), "draft": s.get("draft") or {},
                    "generated_at": s.get("generated_at"), "by": s.get("run_by", "")})
    return out


def _examples() -> list[str]:
    return sorted(p.name for p in DRAFTS_DIR.glob("*.yaml"))


def _last_year() -> int:
    return dt.date.today().year - 1


@router.get("/office/whatif")
def whatif_page(request: Request, user: Simulator, settings: SettingsDep, jobs: JobsDep) -> Response:
    return render(request, "office_whatif.html", runs=_runs(settings), examples=_examples(), year=_last_year(),
                  job=jobs.running("whatif"), error=None)


@router.post("/office/whatif")
def whatif_start(request: Request, user: Simulator, db: DbDep, settings: SettingsDep, jobs: JobsDep,
                 year: Annotated[int, Form(ge=2000, le=2100)],
                 example: Annotated[str, Form(max_length=64)] = "",
                 file: Annotated[UploadFile | None, File()] = None) -> Response:
    from mutualaid.policy_office.service import SimulationError, check_draft, simulate

    lang = lang_of(request)
    if file is not None and file.filename:
        raw = file.file.read(MAX_DRAFT_BYTES + 1)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", FsPath(file.filename).name)[:64] or "draft.yaml"
    elif example in _examples():
        raw, name = (DRAFTS_DIR / example).read_bytes(), example
    else:
        raise AppError(400, "office.draft_invalid")
    error = None
    try:
        if len(raw) > MAX_DRAFT_BYTES:
            raise SimulationError(f"{name}: larger than {MAX_DRAFT_BYTES // 1024} KiB")
        text = raw.decode("utf-8")
        check_draft(text, name)  # same errors as a policy file, before any work starts
    except (SimulationError, UnicodeDecodeError) as exc:
        error = f"{ui('office.draft_invalid', lang)}: {exc}"
    if error is not None:
        return render(request, "office_whatif.html", status=400, runs=_runs(settings), examples=_examples(),
                      year=year, job=None, error=error)
    run_id = secrets.token_hex(8)
    target = _whatif_dir(settings) / run_id

    def work(progress) -> dict:  # noqa: ANN001
        tmp = FsPath(tempfile.mkdtemp(prefix="run-", dir=target.parent))
        try:
            try:
                result = simulate(db, year=year, draft_text=text, draft_name=name, out_dir=None,
                                  progress=lambda d, t: progress(d, t))
            except SimulationError as exc:
                raise JobFailed(str(exc)) from None
            result.summary["run_by"] = user.username
            from mutualaid.policy_office.service import write_simulation
            write_simulation(result, tmp)
            tmp.rename(target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return {"run_id": run_id, "year": year}

    try:
        job = jobs.start("whatif", user.username, work, year=year, draft=name)
    except JobBusy as busy:
        job = busy.job
    if request.headers.get("hx-request") == "true":
        return render(request, "_job.html", job=job)
    return RedirectResponse("/office/whatif", status_code=303)


def _fen(text: str | None) -> int:
    return parse_fen(text, allow_negative=True) if text else 0


@router.get("/office/whatif/{run_id}")
def whatif_result(request: Request, user: Simulator, settings: SettingsDep, run_id: RunId) -> Response:
    path = _whatif_dir(settings) / run_id / "summary.json"
    if not path.exists():
        raise AppError(404, "err.run_not_found")
    s = json.loads(path.read_text(encoding="utf-8"))
    lang = lang_of(request)
    charts = {}
    for product, p in s["products"].items():
        bands = [b["band"] for b in p["actual"]["payout_by_band"]]
        charts[product] = grouped_bars(
            bands, [("actual", [_fen(b["amount"]) for b in p["actual"]["payout_by_band"]]),
                    ("draft", [_fen(b["amount"]) for b in p["draft"]["payout_by_band"]])],
            label=lambda k: ui(f"office.{k}", lang), value_text=lambda fen: money_text(fen)[:-3],
            title=f"{ui('product.' + product, lang)} {ui('office.band', lang)}")
    f = s.get("fund") or {}
    fund_chart = grouped_bars(
        [ui(f"office.{k}", lang) for k in ("closing", "in", "out", "result")],
        [("draft", [_fen(f.get("closing_balance")), _fen(f.get("contributions_at_draft_premiums")),
                    _fen(f.get("projected_payouts")), max(_fen(f.get("resulting_closing_balance")), 0)])],
        label=lambda k: ui(f"office.{k}", lang), value_text=lambda fen: money_text(fen)[:-3],
        title=ui("office.fund", lang))
    return render(request, "office_whatif_result.html", s=s, run_id=run_id, charts=charts, fund_chart=fund_chart,
                  rows=_side_rows())


def _side_rows() -> list[tuple[str, str, bool]]:
    return [("office.claims", "claims", False), ("office.approved", "approved", False),
            ("office.pending", "pending_review", False), ("office.rejected", "rejected", False),
            ("office.total_payout", "total_payout", True), ("office.paid_claims", "paid_claims", False),
            ("office.average_payout", "average_payout", True), ("office.median_payout", "median_payout", True),
            ("office.cap_hits", "cap_hits", False), ("office.allowance_days", "allowance_days", False)]


@router.get("/office/whatif/{run_id}/files/{name}")
def whatif_file(user: Simulator, settings: SettingsDep, run_id: RunId, name: FileName) -> Response:
    path = _whatif_dir(settings) / run_id / name
    if not path.exists():
        raise AppError(404, "err.run_not_found")
    return FileResponse(path, media_type=MEDIA[name], filename=f"whatif-{run_id}-{name}")


@router.get("/office/year")
def year_page(request: Request, user: YearReader, db: DbDep, year: YearQ = None) -> Response:
    from mutualaid.policy_office.year_report import build_year_report

    year = year or _last_year()
    r = build_year_report(db, year)
    lang = lang_of(request)
    month_chart = grouped_bars([m["month"] for m in r["by_month"]], [("amount", [_fen(m["amount"]) for m in r["by_month"]])],
                               label=lambda k: ui(f"year.{k}", lang), value_text=lambda fen: money_text(fen)[:-3],
                               title=ui("year.by_month", lang))
    band_chart = grouped_bars([b["band"] for b in r["by_band"]], [("amount", [_fen(b["amount"]) for b in r["by_band"]])],
                              label=lambda k: ui(f"year.{k}", lang), value_text=lambda fen: money_text(fen)[:-3],
                              title=ui("year.by_band", lang))
    return render(request, "office_year.html", r=r, year=year, month_chart=month_chart, band_chart=band_chart)


@router.get("/office/year/{year}/files/{name}")
def year_file(user: YearReader, db: DbDep, year: Annotated[int, Path(ge=2000, le=2100)], name: FileName) -> Response:
    from starlette.background import BackgroundTask

    from mutualaid.policy_office.year_report import build_year_report, write_year_report

    tmp = FsPath(tempfile.mkdtemp(prefix="year-"))
    write_year_report(build_year_report(db, year), tmp)
    return FileResponse(tmp / name, media_type=MEDIA[name], filename=f"year-{year}-{name}",
                        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))
