"""Secret canaries: no credential may appear in any log line, error text or client repr.

The secrets that flow through the suite are the emulator's credentials (its password, its MAXIR
API key, the access_key_secret of its seeded connectors), every token any emulator issues, and
the explicit canaries some tests use. For every test this plugin:

- captures the records of the ``asyncsdk`` loggers, formatted;
- keeps every :class:`AsyncSDKError` raised or built (their text is read at the test's end,
  after fields such as ``resume_token`` were filled in);
- keeps every client built (their reprs, and their auth objects');
- records every token the emulators issue;

and fails *that test* (at its teardown) if any secret appears in any of that text, so a leak is
reported where it happens. Half the tests (chosen by a stable hash of their id) run with the
``asyncsdk`` loggers at DEBUG, so the debug lines are checked; the other half keep the default
level, so the code paths that skip debug formatting run too.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
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


class _Totals:
    lines = 0
    errors = 0
    clients = 0


@pytest.fixture(scope="session", autouse=True)
def secret_canaries(request: pytest.FixtureRequest) -> Iterator[None]:
    """Install the capture for the whole session; the checks run per test."""
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
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        AsyncSDKError.__init__ = original_error_init  # type: ignore[method-assign]
        BaseClient._bind = original_bind  # type: ignore[method-assign]
        TokenIssuer.issue = original_issue  # type: ignore[method-assign]
    if request.session.testscollected >= 300 and not request.session.testsfailed:
        # Sanity, on a whole-suite run: the capture did see the traffic, or the checks would
        # prove nothing.
        assert _Totals.lines > 500 and _Totals.errors > 100 and _Totals.clients > 50, (
            f"canary capture saw too little: {_Totals.lines} log lines, "
            f"{_Totals.errors} errors, {_Totals.clients} clients"
        )


def register_secret(secret: str) -> None:
    """Have the canaries look for ``secret`` too (a key a test or a fixture made up)."""
    _secrets.add(secret)


def leaked_secrets() -> list[str]:
    """The secrets found in what was captured since the current test began."""
    texts = list(_lines)
    for error in _errors:
        texts += [str(error), repr(error)]
    for client in _clients:
        texts += [repr(client), repr(client._session.auth), str(client.stats)]
    return sorted({secret for secret in _secrets for text in texts if secret in text})


@pytest.fixture(autouse=True)
def secret_canary_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """Check this test's captured text for secrets at its teardown."""
    for captured in (_lines, _errors, _clients):
        captured.clear()
    logger = logging.getLogger("asyncsdk")
    previous_level = logger.level
    if zlib.crc32(request.node.nodeid.encode()) % 2 == 0:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.setLevel(previous_level)
    leaks = leaked_secrets()
    _Totals.lines += len(_lines)
    _Totals.errors += len(_errors)
    _Totals.clients += len(_clients)
    for captured in (_lines, _errors, _clients):
        captured.clear()
    assert not leaks, f"secrets leaked into logs, errors or reprs: {[s[:12] for s in leaks]}"
