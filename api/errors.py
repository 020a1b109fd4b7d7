"""Errors the interfaces turn into HTTP answers: a status, a message code, parameters."""
from __future__ import annotations

from mutualaid.i18n import ui


class AppError(Exception):
    """``code`` is a key of :data:`mutualaid.i18n.UI` (or of ``MESSAGES`` for file problems)."""

    def __init__(self, status: int, code: str, /, headers: dict[str, str] | None = None, **params: object) -> None:
        super().__init__(status, code, params)
        self.status = status
        self.code = code
        self.params = params
        self.headers = headers or {}

    def message(self, lang: str = "both") -> str:
        return ui(self.code, lang, **self.params)


class LoginRequired(Exception):
    """A page needs a signed-in user: redirect to the login page."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__(expired)
        self.expired = expired


def not_found(code: str = "err.not_found") -> AppError:
    return AppError(404, code)


def forbidden(code: str = "err.forbidden") -> AppError:
    return AppError(403, code)
