"""Bearer tokens for the JSON API, the current user, and user management (admin)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request, Response, status

from api.deps import CurrentUser, DbDep, SessionDep, SettingsDep, oauth2_scheme, require
from api.errors import AppError
from api.schemas import ErrorOut, Text, TokenOut, UserIn, UserOut, UserPatch
from mutualaid import users
from mutualaid.users import API, Principal

router = APIRouter(tags=["auth"])
admin = APIRouter(tags=["users"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.post("/token", response_model=TokenOut,
             responses={401: {"model": ErrorOut}, 429: {"model": ErrorOut, "description": "too many wrong passwords"}})
def issue_token(request: Request, db: DbDep, settings: SettingsDep,
                username: Annotated[Text, Form(max_length=64)],
                password: Annotated[Text, Form(max_length=1024)]) -> TokenOut:
    """OAuth2 password flow: user name and password (form fields) for a bearer token.

    Five wrong passwords for one user from one address within five minutes: 429 until the
    oldest of them is five minutes old.
    """
    try:
        principal = users.authenticate(db, username, password, ip=client_ip(request))
    except users.RateLimited as e:
        raise AppError(429, "err.rate_limited", headers={"Retry-After": str(e.retry_after)},
                       seconds=e.retry_after) from None
    except users.BadCredentials:
        raise AppError(401, "err.bad_credentials", headers={"WWW-Authenticate": "Bearer"}) from None
    sign_in = users.open_sign_in(db, principal, kind=API, ttl=settings.api_token_ttl, ip=client_ip(request))
    return TokenOut(access_token=sign_in.token, expires_at=sign_in.expires_at)


@router.delete("/token", status_code=status.HTTP_204_NO_CONTENT, responses={401: {"model": ErrorOut}})
def revoke_token(user: CurrentUser, db: DbDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Response:
    """Sign out: the token stops working at once."""
    users.close_sign_in(db, token or "", actor=user.username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut, responses={401: {"model": ErrorOut}})
def me(user: CurrentUser) -> UserOut:
    """Who the token belongs to: role and, for clerks, their units."""
    return UserOut.of(user)


Admin = Annotated[Principal, Depends(require("users.manage"))]
Username = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")]


@admin.get("/users", response_model=list[UserOut])
def list_users(user: Admin, session: SessionDep) -> list[UserOut]:
    """Every account (never a password or its hash)."""
    return [UserOut.of(p, active) for p, active, _ in users.list_users(session)]


@admin.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED,
            responses={400: {"model": ErrorOut}})
def create_user(user: Admin, db: DbDep, body: UserIn) -> UserOut:
    """A new account; a clerk needs at least one unit code. 409 if the name is taken."""
    try:
        with db.transaction() as session:
            created = users.create_user(session, username=body.username, password=body.password, role=body.role,
                                        actor=user.username, unit_codes=body.unit_codes,
                                        display_name=body.display_name)
    except users.UserError as e:
        raise AppError(409 if e.code == "user_exists" else 400, e.code, **e.params) from None
    return UserOut.of(created)


@admin.patch("/users/{username}", response_model=UserOut, responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}})
def update_user(user: Admin, db: DbDep, username: Username, body: UserPatch) -> UserOut:
    """Enable or disable an account (disabling signs it out everywhere)."""
    try:
        with db.transaction() as session:
            changed = users.set_active(session, username, body.active, actor=user.username)
    except users.UserError as e:
        raise AppError(404 if e.code == "no_such_user" else 400, e.code, **e.params) from None
    return UserOut.of(changed, body.active)
