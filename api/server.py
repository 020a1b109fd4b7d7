"""Run the web app under uvicorn (used by ``mutualaid serve`` and the API benchmark).

With ``workers > 1`` uvicorn binds the listening socket itself, without ``IPPROTO_TCP``,
so asyncio does not switch Nagle's algorithm off on the accepted connections and every
small response waits for the client's delayed ACK (about 40 ms on Linux). The socket is
given ``TCP_NODELAY`` here, which accepted connections inherit.

    python -m api.server --port 8000 --workers 2      # database from $MUTUALAID_DB
"""
from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.config import Config

_bind_socket = Config.bind_socket


def _bind_socket_nodelay(self: Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def proxy_options(forwarded_allow_ips: tuple[str, ...] | None = None) -> dict[str, object]:
    """uvicorn's proxy settings: forwarded headers believed only from the configured proxies.

    ``None``: from ``MUTUALAID_FORWARDED_ALLOW_IPS`` (comma-separated; default none). Without
    any, proxy headers are off: uvicorn would otherwise trust 127.0.0.1 (or its own
    ``FORWARDED_ALLOW_IPS``), so any local client could name its own address.
    """
    if forwarded_allow_ips is None:
        from api.settings import Settings

        forwarded_allow_ips = Settings.from_env().forwarded_allow_ips
    if not forwarded_allow_ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(forwarded_allow_ips)}


def run(*, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, log_level: str = "info",
        access_log: bool = True) -> None:
    """Serve ``api.asgi:app`` (settings and database from the environment)."""
    Config.bind_socket = _bind_socket_nodelay  # type: ignore[method-assign]
    uvicorn.run("api.asgi:app", host=host, port=port, workers=workers, log_level=log_level,
                access_log=access_log, **proxy_options())  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description="serve the mutualaid web app (database from $MUTUALAID_DB)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--no-access-log", dest="access_log", action="store_false")
    args = ap.parse_args()
    run(host=args.host, port=args.port, workers=args.workers, log_level=args.log_level, access_log=args.access_log)


if __name__ == "__main__":
    main()
