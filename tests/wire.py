"""Helpers for exact request-shape tests with aioresponses."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from yarl import URL

BASE = "http://moi.test"


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token carrying exactly ``claims``, unsigned (``json.dumps`` writes them, so
    a claim may be NaN or an integer no float can hold)."""

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def jwt(lifetime: float = 900, remaining: float | None = None, **claims: Any) -> str:
    """A JWT-shaped token whose exp lies ``remaining`` seconds ahead (default: whole life)."""
    now = time.time()
    exp = now + (lifetime if remaining is None else remaining)
    return unsigned_jwt({"iat": int(exp - lifetime), "exp": int(exp), "uid": "uid-1", **claims})


def ok(data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": "OK", "msg": "OK"}
    if data is not None:
        body["data"] = data
    return body


def _normal(url: str) -> URL:
    # aioresponses files requests under the URL with its query pairs sorted (normalize_url).
    parsed = URL(url)
    return parsed.with_query(sorted(parsed.query.items()))


def sent(mock: Any, method: str, url: str) -> list[dict[str, Any]]:
    """What the client sent to ``method url`` (query included, in any order), one dict per
    request; ``params`` keeps the order the client sent them in."""
    calls = mock.requests.get((method, _normal(url)), [])
    out = []
    for call in calls:
        kwargs = call.kwargs
        data = kwargs.get("data")
        out.append(
            {
                "headers": dict(kwargs.get("headers") or {}),
                "json": json.loads(data) if data else None,
                "params": _pairs(kwargs.get("params")),
            }
        )
    return out


def _pairs(params: Any) -> list[tuple[str, str]]:
    """The query the client handed aiohttp, as (name, value) pairs in its order: given as
    pairs, as a mapping whose list values repeat their name (the form aiohttp encodes
    quickest), or as a finished query string (a single plain parameter, an id)."""
    if not params:
        return []
    if isinstance(params, str):
        return parse_qsl(params, keep_blank_values=True, strict_parsing=True)
    if isinstance(params, Mapping):
        return [
            (name, value)
            for name, values in params.items()
            for value in (values if isinstance(values, (list, tuple)) else (values,))
        ]
    return list(params)
