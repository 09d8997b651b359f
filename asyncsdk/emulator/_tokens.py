"""JWT-shaped tokens, as MOI issues them (docs/wire/moi.md#tokens): header.payload.signature.

Signed with HS256 and a per-emulator random key (the real service uses RS256; clients never
verify, they only read ``exp``). ``iat`` and ``exp`` are whole seconds like the real claims; ``exp``
is rounded *up*, so a token never lives shorter than the configured lifetime. A serial ``jti``
lets tests revoke every token issued so far.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import time
from typing import Any

from attrs import define


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@define
class TokenCheck:
    """The outcome of checking a token: claims when valid, else the reason it is not."""

    claims: dict[str, Any] | None
    reason: str = ""


class TokenIssuer:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._serial = 0
        self.revoked_below = {"access": 0, "refresh": 0}

    def issue(self, kind: str, ttl: float, claims: dict[str, Any]) -> str:
        now = time.time()
        self._serial += 1
        payload = {
            **claims,
            "iss": "moi",
            "iat": int(now),
            "exp": math.ceil(now + ttl),
            "jti": self._serial,
            "use": kind,
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}"

    def check(self, token: str | None, kind: str, *, allow_revoked: bool = False) -> TokenCheck:
        if not token:
            return TokenCheck(None, f"missing {kind} token")
        parts = token.split(".")
        if len(parts) != 3:
            return TokenCheck(None, f"malformed {kind} token")
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            valid = hmac.compare_digest(_unb64(parts[2]), expected)
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return TokenCheck(None, f"malformed {kind} token")
        if not valid or not isinstance(claims, dict) or claims.get("use") != kind:
            return TokenCheck(None, f"invalid {kind} token")
        if not allow_revoked and claims.get("jti", 0) < self.revoked_below[kind]:
            return TokenCheck(None, f"{kind} token revoked")
        if time.time() >= claims.get("exp", 0):
            return TokenCheck(None, f"{kind} token expired")
        return TokenCheck(claims)

    def revoke_all(self, kind: str) -> None:
        self.revoked_below[kind] = self._serial + 1
