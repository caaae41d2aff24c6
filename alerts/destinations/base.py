"""What every destination has in common: what a send returns, and how HTTP answers map to it."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Protocol

from alerts.alert import Alert
from alerts.routing import Person


@dataclass(frozen=True)
class Delivered:
    """The provider accepted the message (only then is it marked delivered)."""

    provider_id: str | None = None


@dataclass(frozen=True)
class Retry:
    """Worth trying again: 429, 5xx, a timeout or a network error; `after` from Retry-After."""

    reason: str
    status: int | None = None
    after: float | None = None


@dataclass(frozen=True)
class Failed:
    """Permanent: trying again cannot help (a 4xx other than 429, a bad recipient)."""

    reason: str
    status: int | None = None


Outcome = Delivered | Retry | Failed


class Sender(Protocol):
    """Sends one alert, or a digest of several, to one recipient of one destination."""

    kind: str  # the destination type: a bounded metric label

    async def send(self, alerts: list[Alert], person: Person | None) -> Outcome: ...

    def describe(self) -> str:
        """Where it sends, with every secret masked (for dead letters and logs)."""
        ...

    async def close(self) -> None: ...


def outcome_of_status(status: int, reason: str, retry_after: str | None = None) -> Outcome:
    """The outcome an HTTP status means for a message POST."""
    if 200 <= status < 300:
        return Delivered()
    if status == 429:
        return Retry(reason or "rate_limited", status, seconds_until(retry_after))
    if status >= 500 or status == 408:
        return Retry(reason or f"http_{status}", status, seconds_until(retry_after))
    return Failed(reason or f"http_{status}", status)


def seconds_until(retry_after: str | None) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP date) as seconds from now."""
    if not retry_after:
        return None
    value = retry_after.strip()
    if value.isdigit():
        return float(value)
    try:
        at = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, at.timestamp() - time.time())
