"""What `./run demo` prints, for a union office worker: Chinese names, grouped numbers, the
opening balance as 期初, a legend per table, the comparison with the reference year, the
logins and how to stop; and progress lines when the output goes to a log file."""
from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from mutualaid.cli import app
from mutualaid.demo import REFERENCE
from mutualaid.demo_report import print_logins, print_year

CODES = ("APPROVED", "PENDING_REVIEW", "REJECTED", "hosp_members", "claims_paid", "payout_yuan", "UNPAID",
         "OPENING_BALANCE", "Secure", "cookies")


def _summary(month: str, opening: str, carried: str, inflows: str, outflows: str, closing: str) -> dict:
    zero = {"count": 0, "difference": "0.00"}
    return {"month": month, "late_unpaid": 2,
            "roll_forward": {"opening": opening, "inflows": {"OPENING_BALANCE": carried, "CONTRIBUTION": "0.00"},
                             "total_inflows": inflows, "total_outflows": outflows, "closing": closing},
            "by_status": {"UNPAID": {"count": 1234, "difference": "-10.00"}, "OVERPAID": zero,
                          "DUPLICATE_PAYMENT": {"count": 1, "difference": "5.00"}, "UNKNOWN_CLAIM": zero}}


def test_the_year_in_words() -> None:
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=False)
    year = {"by_status": {"APPROVED": 7119, "PENDING_REVIEW": 197, "REJECTED": 422},
            "payout_fen_by_product": {"HOSP": 711927241, "WOMEN": 380600000},
            "approved_with_payout": 7119, "payout_fen_by_status": {"APPROVED": 1092527241, "PENDING_REVIEW": 321134757}}
    recon = {"2025-01": _summary("2025-01", "0.00", "6098227.04", "20446688.91", "0.00", "20446688.91"),
             "2025-02": _summary("2025-02", "20446688.91", "0", "407350.65", "0.00", "20854039.56")}
    print_year(console, figures={"hosp_members": 135_500, "women_members": 54_000, "messy": {"late": 300, "dup": 226}},
               year=year, recon=recon, reviews=[("TL1", "approve"), ("TL2", "reject")], reference=REFERENCE,
               months=["2025-01", "2025-02"], seconds=52.4, db_path="demo/demo.db", out_dir="demo")
    print_logins(console, host="127.0.0.1", port=8000, users=[("auditor", "demo-auditor", "pw-123456789")],
                 logins_file="demo/logins.txt")
    text = out.getvalue()
    for code in CODES:
        assert code not in text, code
    for words in ("已核准", "待复核", "已拒付", "住院医疗互助", "女性安康互助", "期初", "期末", "未支付", "超15个工作日",
                  "2025-01 至 2025-02", "7,748", "11,430,000.00", "135,500", "7,119", "10,925,272.41",
                  "197 件理赔", "3,211,347.57", "526 件", "http://127.0.0.1:8000/", "Ctrl+C", "demo/logins.txt",
                  "每次运行演示都会重新生成", "--port", "审核员", "demo-auditor", "pw-123456789", "1,234"):
        assert words in text, words
    # the carried-over balance is the first month's 期初, not an inflow
    first = next(line for line in text.splitlines() if line.lstrip("│ ").startswith("2025-01"))
    assert re.search(r"6,098,227\.04\s*│\s*14,348,461\.87", first), first
    # a legend line under every table
    assert text.count("期初：") == 1 and "已核准：" in text and "住院医疗互助：" in text


def test_the_demo_prints_progress_into_a_log_file(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["demo", "--no-serve", "--scale", "300", "--out", str(tmp_path / "demo")],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    steps = re.findall(r"\[\s*(\d+)/(\d+)\] (.+)", r.output)
    assert len(steps) > 20, r.output[:2000]
    assert any("导入参保名册" in s[2] for s in steps) and any("对账" in s[2] for s in steps)
    assert steps[-1][0] == steps[-1][1], "the last line says all steps are done"
    assert "与参考年度" in r.output and "APPROVED" not in r.output
