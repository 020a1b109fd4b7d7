"""Server-rendered pages: the Jinja2 environment, the language, helpers the templates use."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.authz import can
from mutualaid.i18n import UI, ui
from mutualaid.money import fmt

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
ENV = TEMPLATES.env
ENV.trim_blocks = True
ENV.lstrip_blocks = True


def lang_of(request: Request) -> str:
    return getattr(request.state, "lang", "zh")


def money_text(fen: int | None, *, grouped: bool = True) -> str:
    """'7,140.00' for people (exports keep '7140.00')."""
    if fen is None:
        return ""
    text = fmt(fen, fen=True)
    if not grouped:
        return text
    sign = "-" if text.startswith("-") else ""
    whole, _, cents = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}.{cents}"


def yuan_text(text: str | None) -> str:
    """An amount string from a trace or summary, for reading: grouped, two decimals.

    Exact intermediate parts of a breakdown ('502.7800', '12.345') are shown rounded
    half-up to the fen, as every amount people read; the stored trace keeps them exact.
    """
    if text in (None, ""):
        return ""
    try:
        amount = Decimal(str(text)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(text)
    return f"{amount:,.2f}"


def when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


CODED_FACTS = {"cause": "cause", "sex": "sex", "category": "category", "surgery": "surgery"}


def fact_value(key: str, value: Any, t: Any, tr: Any) -> str:
    """A trace input for people: yes/no, amounts in yuan (facts in fen), codes in words."""
    if value is True:
        return t("common.yes")
    if value is False:
        return t("common.no")
    if value is None:
        return "—"
    if key.endswith("_fen") and isinstance(value, int):
        return money_text(value)
    if key == "days_past_deadline" and isinstance(value, int):
        if value > 0:
            return t("fact_text.late", n=f"{value:,}")
        return t("fact_text.on_time", n=f"{-value:,}") if value < 0 else t("fact_text.on_deadline")
    if key == "days_from_start" and isinstance(value, int):
        return t("fact_text.before_start", n=f"{-value:,}") if value < 0 else t("fact_text.days", n=f"{value:,}")
    if key in CODED_FACTS:
        return tr(CODED_FACTS[key], value)
    return str(value)


def audit_details(details: dict[str, Any] | None, t: Any, tr: Any) -> list[tuple[str, str]]:
    """An audit entry's details for people: (label, text) pairs; empty values left out,
    codes in words, nested figures (a decision before/after, counts by status) in one line."""

    def label(key: str) -> str:
        return tr("audit_key", key)

    def text(key: str, value: Any) -> str:
        if isinstance(value, bool):
            return t("common.yes") if value else t("common.no")
        if key == "status":
            return tr("status", value)
        if key == "role":
            return tr("role", value)
        if key in ("payout", "computed_payout", "amount") and isinstance(value, str):
            return yuan_text(value)
        if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
            return money_text(value)
        if isinstance(value, dict):
            if key == "by_status":
                return "，".join(f"{tr('status', k)} {v:,}" if isinstance(v, int) else f"{tr('status', k)} {v}"
                                for k, v in value.items())
            return "，".join(text(k, v) if k in ("status", "payout") else f"{label(k)} {text(k, v)}"
                            for k, v in value.items() if v not in (None, "", [], {}))
        if isinstance(value, (list, tuple)):
            return "、".join(str(v) for v in value)
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    return [(label(k), text(k, v)) for k, v in (details or {}).items() if v not in (None, "", [], {})]


def one_language(text: str, lang: str) -> str:
    """'file.csv: 中文 / English' (a stored bilingual warning) -> the reader's language only."""
    parts = str(text).split(" / ")
    if len(parts) != 2 or lang not in ("zh", "en"):
        return str(text)
    if lang == "zh":
        return parts[0]
    prefix, sep, _ = parts[0].partition(": ")
    return f"{prefix}: {parts[1]}" if sep else parts[1]


def query_with(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = {k: v for k, v in request.query_params.items() if k not in changes}
    params.update({k: v for k, v in changes.items() if v not in (None, "")})
    return "?" + urlencode(params) if params else "?"


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    user = getattr(request.state, "user", None)

    def t(key: str, **params: Any) -> str:
        return ui(key, lang, **params)

    def tr(prefix: str, code: Any) -> str:
        """A code in words: tr('product', 'HOSP') -> '住院医疗互助'; unknown codes as they are."""
        key = f"{prefix}.{code}"
        return ui(key, lang) if key in UI else str(code if code is not None else "")

    context.update(
        request=request, lang=lang, t=t, tr=tr, user=user, csrf=getattr(request.state, "csrf", ""),
        can=(lambda perm: user is not None and can(user, perm)), money=money_text, yuan=yuan_text, when=when,
        fact_value=lambda key, v=None: fact_value(key, v, t, tr), query_with=lambda **kw: query_with(request, **kw),
        audit_details=lambda details: audit_details(details, t, tr),
        row_message=lambda e: e.text(lang) if hasattr(e, "text") else e.message,
        one_language=lambda text: one_language(text, lang),
        audit_actions=[k.removeprefix("audit_action.") for k in UI if k.startswith("audit_action.")],
        is_htmx=request.headers.get("hx-request") == "true",
    )
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)
