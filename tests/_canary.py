"""Suite-wide secret canaries: no credential may appear in any log line, error text or client
repr produced while the whole test suite runs.

The secrets that flow through the suite are the emulator's credentials (its password, its MAXIR
API key, the access_key_secret of its seeded connectors), every token any emulator issues, and
the explicit canaries some tests use. During the session this plugin:

- captures every record of the ``asyncsdk`` loggers at DEBUG, formatted;
- keeps every :class:`AsyncSDKError` raised or built (their text is read at the end, after
  fields such as ``resume_token`` were filled in);
- keeps every client built (their reprs, and their auth objects');
- records every token the emulators issue;

and at the end fails the session if any secret appears in any of that text.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from asyncsdk._core.client import BaseClient
from asyncsdk._core.errors import AsyncSDKError
from asyncsdk.emulator import EmulatorConfig
from asyncsdk.emulator._tokens import TokenIssuer

#: Explicit canaries tests may use for passwords, keys and secrets.
CANARY_PASSWORD = "canary-password-7f3a"
CANARY_API_KEY = "canary-api-key-91bd"
CANARY_SECRET = "canary-access-key-secret-55e0"

_defaults = EmulatorConfig()
_secrets: set[str] = {
    CANARY_PASSWORD,
    CANARY_API_KEY,
    CANARY_SECRET,
    _defaults.password,
    _defaults.maxir_api_key,
    "emulator-secret-",  # the seeded connectors' access_key_secret prefix
}
_errors: list[AsyncSDKError] = []
_clients: list[BaseClient] = []
_lines: list[str] = []


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        # A record that cannot be formatted is not this check's concern.
        with contextlib.suppress(Exception):
            _lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def secret_canaries(request: pytest.FixtureRequest) -> Iterator[None]:
    original_error_init = AsyncSDKError.__init__
    original_bind = BaseClient._bind
    original_issue = TokenIssuer.issue

    def error_init(self: AsyncSDKError, *args: Any, **kwargs: Any) -> None:
        original_error_init(self, *args, **kwargs)
        _errors.append(self)

    def bind(self: BaseClient, *args: Any, **kwargs: Any) -> None:
        original_bind(self, *args, **kwargs)
        _clients.append(self)

    def issue(self: TokenIssuer, *args: Any, **kwargs: Any) -> str:
        token = original_issue(self, *args, **kwargs)
        _secrets.add(token)
        return token

    AsyncSDKError.__init__ = error_init  # type: ignore[method-assign]
    BaseClient._bind = bind  # type: ignore[method-assign]
    TokenIssuer.issue = issue  # type: ignore[method-assign]
    handler = _Capture(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("asyncsdk")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        AsyncSDKError.__init__ = original_error_init  # type: ignore[method-assign]
        BaseClient._bind = original_bind  # type: ignore[method-assign]
        TokenIssuer.issue = original_issue  # type: ignore[method-assign]
    texts = list(_lines)
    for error in _errors:
        texts += [str(error), repr(error)]
    for client in _clients:
        texts += [repr(client), repr(client._session.auth), str(client.stats)]
    leaks = sorted({secret for secret in _secrets for text in texts if secret in text})
    if request.session.testscollected >= 300 and not request.session.testsfailed:
        # Sanity, on a whole-suite run: the capture did see the traffic, or the check would
        # prove nothing.
        assert len(_lines) > 1000 and len(_errors) > 100 and len(_clients) > 50, (
            f"canary capture saw too little: {len(_lines)} log lines, {len(_errors)} errors, "
            f"{len(_clients)} clients"
        )
    assert not leaks, f"secrets leaked into logs, errors or reprs: {[s[:12] for s in leaks]}"
