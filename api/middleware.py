"""One ASGI middleware for every response: security headers, language, request limits.

* Security headers: a Content-Security-Policy allowing only this origin (no inline
  scripts or styles; ``data:`` images only for Pico's form icons), ``frame-ancestors
  'none'`` and ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``; ``no-store`` on everything but static files.
* Language: ``?lang=en`` / ``?lang=zh`` switches and is remembered in a cookie; Chinese
  by default. Stored in ``request.state.lang``.
* Limits: a body larger than the upload limit (plus room for the form) is refused with
  413 before it is read; a NUL byte in the path or query string is refused with 400
  (PostgreSQL cannot store it, and no real input has one).
"""
from __future__ import annotations

import html
import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, unquote_to_bytes

from starlette.exceptions import HTTPException

from mutualaid.i18n import ui

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
LANGS = ("zh", "en")
LANG_COOKIE = "lang"
FORM_OVERHEAD = 1024 * 1024


class WebMiddleware:
    def __init__(self, app: Any, *, max_body: int, secure: bool) -> None:
        self.app = app
        self.max_body = max_body + FORM_OVERHEAD
        self.secure = secure

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        if b"\x00" in unquote_to_bytes(query) or b"\x00" in unquote_to_bytes(raw_path) or "\x00" in scope["path"]:
            await self._reject(scope, send, 400, "err.nul")
            return
        headers = dict((k.lower(), v) for k, v in scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = True
            if too_big:
                await self._reject(scope, send, 413, "err.request_too_large")
                return

        asked = parse_qs(query.decode("latin-1")).get("lang", [None])[-1]
        lang = asked if asked in LANGS else None
        if lang is None:
            cookie = SimpleCookie()
            try:
                cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
            except Exception:  # noqa: BLE001  (a malformed cookie header means no preference)
                pass
            saved = cookie.get(LANG_COOKIE)
            lang = saved.value if saved is not None and saved.value in LANGS else "zh"
        scope.setdefault("state", {})["lang"] = lang
        is_static = scope["path"].startswith("/static/")
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge()
            return message

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                hdrs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hdrs}
                for k, v in self._security_headers(is_static):
                    if k not in names:
                        hdrs.append((k, v))
                if asked in LANGS:
                    cookie = f"{LANG_COOKIE}={asked}; Path=/; Max-Age=31536000; SameSite=Lax"
                    hdrs.append((b"set-cookie", (cookie + ("; Secure" if self.secure else "")).encode()))
                message = {**message, "headers": hdrs}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge:
            await self._reject(scope, send, 413, "err.request_too_large")

    def _security_headers(self, is_static: bool) -> list[tuple[bytes, bytes]]:
        out = [
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if not is_static:
            out.append((b"cache-control", b"no-store"))
        if self.secure:
            out.append((b"strict-transport-security", b"max-age=31536000"))
        return out

    async def _reject(self, scope: dict[str, Any], send: Any, status: int, code: str) -> None:
        """Refused before the app saw the request: JSON for the API, a small HTML notice for
        pages (htmx swaps it into the form's result area)."""
        if scope.get("path", "").startswith("/api/"):
            body = json.dumps({"detail": ui(code, "both"), "code": code}, ensure_ascii=False).encode()
            kind = b"application/json; charset=utf-8"
        else:
            body = f'<article class="error-box" role="alert"><p>{html.escape(ui(code, "both"))}</p></article>'.encode()
            kind = b"text/html; charset=utf-8"
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                   *self._security_headers(False)]
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        except Exception:  # noqa: BLE001  (response already started: nothing more to say)
            pass


class _TooLarge(HTTPException):
    """A body without Content-Length that grows past the limit (an HTTPException so that
    FastAPI's body parsing passes it on as 413 instead of a generic 400)."""

    def __init__(self) -> None:
        super().__init__(413, ui("err.request_too_large", "both"))
