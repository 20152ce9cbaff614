"""Bearer tokens: none needed on loopback in development mode, required everywhere else.

Development mode is the default: bound to 127.0.0.1 and no tokens configured.
Once tokens are configured, or the server listens beyond loopback (where it
refuses to start without them), every endpoint but health needs one; the
ones that train, cancel, promote or roll back need an admin token.
"""

from __future__ import annotations

import hmac
import ipaddress
from enum import StrEnum

from fastapi import HTTPException, Request, status

from doppel.config import ServiceConfig


class Access(StrEnum):
    READ = "read"
    ADMIN = "admin"


class InsecureBind(RuntimeError):
    """Listening beyond loopback without tokens."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(cfg: ServiceConfig, host: str) -> None:
    if not is_loopback(host) and not cfg.admin_tokens:
        raise InsecureBind(
            f"refusing to listen on {host} without tokens: set service.admin_tokens (and service.tokens for "
            "read-only clients) or DOPPEL_ADMIN_TOKENS / DOPPEL_API_TOKENS, or bind to 127.0.0.1"
        )


def _matches(presented: str, allowed: list[str]) -> bool:
    # Compare against every token, in constant time, so timing reveals neither which nor how much matched.
    found = False
    for token in allowed:
        found |= hmac.compare_digest(presented.encode(), token.encode())
    return found


def authorize(request: Request, cfg: ServiceConfig, host: str, needed: Access) -> None:
    if is_loopback(host) and not cfg.tokens and not cfg.admin_tokens:
        return  # development mode
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    if _matches(presented, cfg.admin_tokens):
        return
    if needed is Access.READ and _matches(presented, cfg.tokens):
        return
    if _matches(presented, cfg.tokens):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this endpoint needs an admin token")
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown token", headers={"WWW-Authenticate": "Bearer"})
