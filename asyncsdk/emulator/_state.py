"""The emulator's configuration, counters and request log."""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from attrs import define, field

from ._tokens import TokenIssuer

if TYPE_CHECKING:
    from .moi_connectors import ConnectorStore

DEFAULT_ACCOUNT = "0194dfaa-3eda-7ea5-b47c-b4f4f5940e97"


@define
class EmulatorConfig:
    """Everything an emulator can be told at start-up (all optional)."""

    host: str = "127.0.0.1"
    port: int = 0
    #: Makes seeded data, ids and injected faults repeatable.
    seed: int = 0
    access_token_ttl: float = 900.0
    refresh_token_ttl: float = 21600.0
    account_name: str = DEFAULT_ACCOUNT
    username: str = "admin:accountadmin"
    password: str = "emulator-password"
    #: Added to every request before it is handled (benchmarks model a remote service).
    latency_ms: float = 0.0
    connectors: int = 3
    files_per_connector: int = 200
    tasks: int = 20
    #: How many recent requests ``Emulator.requests`` keeps.
    request_log_size: int = 100_000
    extra: dict[str, Any] = field(factory=dict)


@define
class RequestRecord:
    """One request as the emulator saw it (no credentials are recorded)."""

    at: float
    method: str
    path: str
    status: int
    invocation: str | None
    attempt: int | None


@define
class EmulatorStats:
    logins: int = 0
    failed_logins: int = 0
    refreshes: int = 0
    failed_refreshes: int = 0
    #: Requests refused with 401 because of a missing, expired or revoked token.
    unauthorized: int = 0
    requests: int = 0
    by_route: Counter[str] = field(factory=Counter)


class EmulatorState:
    """Shared by every route module of one emulator instance."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.tokens = TokenIssuer()
        self.stats = EmulatorStats()
        self.requests: deque[RequestRecord] = deque(maxlen=config.request_log_size)
        self.started = time.time()
        self._serial = 0
        #: Installed by moi_auth: raises the 401 error for a request without valid MOI tokens.
        self.moi_auth_check: Callable[[Any], None] | None = None
        self.moi_connectors: ConnectorStore | None = None

    def snowflake(self) -> str:
        """A Twitter-epoch snowflake id (MOI's task and file ids), as a decimal string."""
        self._serial += 1
        millis = int(time.time() * 1000) - 1288834974657
        return str((millis << 22) | (self._serial & 0x3FFFFF))
