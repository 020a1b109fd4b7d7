"""Server-rendered pages: the Jinja2 environment, the language, helpers the templates use."""
from __future__ import annotations

import datetime as dt
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
    """A two-decimal amount string from a trace or summary, grouped for reading."""
    if text in (None, ""):
        return ""
    try:
        sign = "-" if str(text).startswith("-") else ""
        whole, _, cents = str(text).lstrip("-").partition(".")
        return f"{sign}{int(whole):,}.{cents if len(cents) > 2 else (cents + '00')[:2]}"  # exact parts keep all decimals
    except ValueError:
        return str(text)


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
    if key in CODED_FACTS:
        return tr(CODED_FACTS[key], value)
    return str(value)


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
        """A code in words: tr('status', 'APPROVED') -> '已核准'; unknown codes as they are."""
        key = f"{prefix}.{code}"
        return ui(key, lang) if key in UI else str(code if code is not None else "")

    context.update(
        request=request, lang=lang, t=t, tr=tr, user=user, csrf=getattr(request.state, "csrf", ""),
        can=(lambda perm: user is not None and can(user, perm)), money=money_text, yuan=yuan_text, when=when,
        fact_value=lambda key, v=None: fact_value(key, v, t, tr), query_with=lambda **kw: query_with(request, **kw),
        is_htmx=request.headers.get("hx-request") == "true",
    )
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)
