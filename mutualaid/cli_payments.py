"""`mutualaid payments …`: payment runs (批量代发). Commands translate arguments into
calls of :mod:`mutualaid.payments.service` and print its results."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from mutualaid.cli import DbOpt, ErrorsOpt, _database_failed, _run_import, console, err, open_db, parse_day

payments_app = typer.Typer(help="Payment runs to members' bank cards (批量代发).", no_args_is_help=True)
returns_app = typer.Typer(help="The bank's result files.", no_args_is_help=True)
payments_app.add_typer(returns_app, name="returns")
UserOpt = Annotated[str, typer.Option("--user", help="the finance user")]


def _fail(e: Exception) -> None:
    err.print(f"[red]{escape(str(e))}[/red]", highlight=False)
    raise typer.Exit(2) from None


def _work(db: str | None, fn):  # noqa: ANN001, ANN202
    """One transaction; a rule's refusal or a database failure: one line on stderr, exit 2."""
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    from mutualaid.payments.service import PaymentError

    from mutualaid.store.db import retry_when_locked

    database = open_db(db)

    def attempt():  # noqa: ANN202
        with database.transaction() as session:
            return fn(session)
    try:
        return retry_when_locked(attempt)  # SQLite: another writer in the same instant
    except PaymentError as e:
        _fail(e)
    except IntegrityError as problem:
        _database_failed(problem, "another payment change was made at the same moment; nothing was changed, "
                                  "run it again / 其他操作同时进行，本次未做任何修改，请重试")
    except SQLAlchemyError as problem:
        _database_failed(problem, "nothing was changed / 未做任何修改")


@payments_app.command("create")
def create(as_of: Annotated[str, typer.Option("--as-of", help="claims approved on or before YYYY-MM-DD")],
           user: UserOpt, product: Annotated[Optional[str], typer.Option("--product", help="HOSP or WOMEN")] = None,
           db: DbOpt = None) -> None:
    """Create a payment run of every approved, unpaid claim not in a live run."""
    from mutualaid.money import fmt
    from mutualaid.payments.service import create_run

    day = parse_day(as_of)
    r = _work(db, lambda s: create_run(s, as_of=day, product=product, user=user))
    if r.run_id is None:
        console.print("no claims to pay / 没有可代发的申请")
    else:
        console.print(f"payment run {r.run_id}")
    t = RichTable(title=f"payment run 代发批次 {r.run_id or '-'}")
    for col in ("items 笔数", "total 金额", "no account 无卡号", "failed, account unchanged 失败待改卡号", "Luhn warnings 校验位警告"):
        t.add_column(col, justify="right")
    t.add_row(str(r.items), fmt(r.total_fen, fen=True), str(len(r.no_account)), str(len(r.awaiting_fix)),
              str(len(r.luhn_warnings)))
    console.print(t)
    console.print(f"items: {r.items}; total: {fmt(r.total_fen, fen=True)}; no account: {len(r.no_account)}; "
                  f"awaiting account correction: {len(r.awaiting_fix)}")
    left = [(c.claim_no, c.unit_code or "", "no bank account / 无有效银行卡号") for c in r.no_account] + \
        [(c.claim_no, c.unit_code or "", f"failed at the bank, account not corrected / 代发失败待改卡号: {c.failed_reason or ''}")
         for c in r.awaiting_fix]
    for claim_no, unit, why in left[:20]:
        err.print(f"[yellow]{escape(claim_no)} ({escape(unit)}): {escape(why)}[/yellow]", highlight=False)
    if len(left) > 20:
        err.print(f"… and {len(left) - 20} more; the unit's clerks see them on the page /payments/failed")
    for claim_no in r.luhn_warnings[:20]:
        err.print(f"[yellow]{claim_no}: account fails the Luhn check digit (paid anyway) / 卡号校验位不符[/yellow]")


@payments_app.command("approve")
def approve(run: int, user: UserOpt, db: DbOpt = None) -> None:
    """Approve a run (a second finance user, not its creator)."""
    from mutualaid.money import fmt
    from mutualaid.payments.service import approve_run

    r = _work(db, lambda s: approve_run(s, run, user=user))
    console.print(f"payment run {r.id} approved by {user}: {r.item_count} items, {fmt(r.total_fen, fen=True)}")


@payments_app.command("cancel")
def cancel(run: int, user: Annotated[str, typer.Option("--user", help="the finance user")] = "cli",
           db: DbOpt = None) -> None:
    """Cancel a run before export; its claims return to the pool."""
    from mutualaid.payments.service import cancel_run

    _work(db, lambda s: cancel_run(s, run, user=user))
    console.print(f"payment run {run} cancelled; its claims are back in the pool")


@payments_app.command("export")
def export(run: int, out: Annotated[Path, typer.Option("--out", help="the bank file to write")],
           template: Annotated[Optional[str], typer.Option("--template", help="bank template (default: generic)")] = None,
           user: Annotated[str, typer.Option("--user", help="the finance user")] = "cli", db: DbOpt = None) -> None:
    """Write the bank file of an approved run (again: the same bytes)."""
    from mutualaid.money import fmt
    from mutualaid.payments.service import export_run

    r = _work(db, lambda s: export_run(s, run, template=template, user=user))
    for claim_no, why in r.dropped:
        err.print(f"[yellow]{claim_no}: changed after the run was made ({why}); dropped from run {run}, back in "
                  f"the pool / 建批后有变动，已移出本批[/yellow]")
    if r.data is None:
        err.print(f"[red]every claim of run {run} changed; the run was cancelled and no file written / "
                  f"本批全部申请均有变动，批次已撤销[/red]")
        raise typer.Exit(1)
    tmp = out.with_name(out.name + ".tmp")
    try:  # the bank file holds full account numbers and names: readable by its owner only
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(r.data)
        os.replace(tmp, out)
    except OSError as e:
        _fail(e)
    console.print(f"payment run {run} exported ({r.template}): {r.items} items, {fmt(r.total_fen, fen=True)} "
                  f"-> {out} (sha256 {r.sha256[:12]})")
    if r.dropped:
        raise typer.Exit(1)


@returns_app.command("import")
def returns_import(file: Path, errors: ErrorsOpt = None, db: DbOpt = None,
                   user: Annotated[str, typer.Option("--user", help="who imports")] = "cli") -> None:
    """Book the bank's result file (idempotent; row errors at row and column)."""
    from mutualaid.payments.service import import_returns

    _run_import("bank returns 银行回盘", lambda **kw: import_returns(open_db(db), **kw), file, errors, user=user)


@payments_app.command("vouchers")
def vouchers_cmd(month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
                 out: Annotated[Path, typer.Option("--out", help="the fund-ledger file to write (CSV)")],
                 db: DbOpt = None) -> None:
    """Bank-confirmed payouts and refunds of a month as a fund-ledger file (`ledger import` takes it)."""
    from mutualaid.payments.service import vouchers, write_vouchers

    rows = _work(db, lambda s: vouchers(s, month))
    n = write_vouchers(rows, out)
    console.print(f"{n} vouchers of {month} written to {out}")


@payments_app.command("account")
def account_cmd(member: Annotated[str, typer.Option("--member", help="the member's ID number")],
                account: Annotated[str, typer.Option("--account", help="the corrected bank account")],
                reason: Annotated[str, typer.Option("--reason", help="why (required)")], user: UserOpt,
                db: DbOpt = None) -> None:
    """Correct a member's bank account (finance; audited): failed payments go to the next run."""
    from mutualaid.idnumber import mask, mask_account
    from mutualaid.payments.service import update_account

    r = _work(db, lambda s: update_account(s, member, account, reason=reason, user=user))
    console.print(f"{mask(member)}: account now {mask_account(r.account)}; back in the pool: {len(r.released)}")
    if r.luhn_warning:
        err.print("[yellow]the account fails the Luhn check digit / 卡号校验位不符[/yellow]")


@payments_app.command("runs")
def runs_cmd(db: DbOpt = None) -> None:
    """List the payment runs with their figures."""
    from mutualaid.money import fmt
    from mutualaid.payments.service import FAILED, PAID, REFUNDED, list_runs

    t = RichTable(title="payment runs 代发批次")
    for col in ("run", "status", "as of", "product", "created by", "approved by", "items", "total", "paid", "failed"):
        t.add_column(col)
    with open_db(db).sessions() as session:
        for r in list_runs(session):
            t.add_row(str(r.id), r.status, str(r.as_of), r.product or "", r.created_by, r.approved_by or "",
                      str(r.item_count), fmt(r.total_fen, fen=True), str(r.by_status.get(PAID, (0, 0))[0]),
                      str(r.by_status.get(FAILED, (0, 0))[0] + r.by_status.get(REFUNDED, (0, 0))[0]))
    console.print(t)
