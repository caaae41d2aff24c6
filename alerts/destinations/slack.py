"""Slack: incoming webhooks and chat.postMessage, through the official slack_sdk async clients.

The SDK's retry handlers absorb short trouble (500/503, dropped connections) within one send;
what is left, 429s included, is classified for the notifier's own retries."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from alerts import metrics
from alerts.alert import Alert
from alerts.destinations.base import Delivered, Failed, Outcome, Retry, outcome_of_status
from alerts.messages import crm_link, digest_head, digest_lines, mrkdwn, slack_message
from alerts.routing import Person, SlackApiDestination, SlackWebhookDestination

# chat.postMessage answers 200 {"ok": false, "error": ...}; these errors are worth retrying.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                    "request_timeout", "team_added_to_org"}  # fmt: skip


# The SDK logs request URLs at DEBUG, and a webhook URL is a secret: its logger stops at INFO
# whatever the process's log level.
sdk_log = logging.getLogger("alerts.destinations.slack.sdk")
sdk_log.setLevel(logging.INFO)


def retry_handlers(kind: str) -> list[AsyncRetryHandler]:
    """The SDK's handlers for 500/503 and dropped connections, counted in the metrics.

    Not its rate-limit handler: that one sleeps out Retry-After inside the call, where the
    notifier cannot keep its ledger lease alive; the notifier's own loop honours 429s."""

    def counted(cls: type[AsyncRetryHandler], why: str) -> AsyncRetryHandler:
        class Counted(cls):  # type: ignore[valid-type,misc]
            async def prepare_for_next_attempt_async(self, **kw: Any) -> None:
                metrics.RETRIES.labels(kind, why).inc()
                await super().prepare_for_next_attempt_async(**kw)

        return Counted(max_retry_count=2)

    return [
        counted(AsyncServerErrorRetryHandler, "server_error"),
        counted(AsyncConnectionErrorRetryHandler, "network"),
    ]


# Slack refuses a section's text over 3,000 characters and a message of more than 50 blocks
# (Block Kit reference); the models of slack_sdk check both as the blocks are built.
SECTION_CHARS = 3000
MAX_BLOCKS = 50


def _text_and_blocks(alerts: list[Alert], crm_link: str | None) -> tuple[str, list[Any]]:
    if len(alerts) == 1:
        return slack_message(alerts[0], crm_link)
    return digest_message(alerts)


def digest_message(alerts: list[Alert]) -> tuple[str, list[dict[str, Any]]]:
    """A digest as Block Kit: its lines packed into sections of at most 3,000 characters, at
    most 50 blocks; alerts beyond them are counted in a last line ("+N more"), as the SMS
    digest does. The notification text is the first section."""
    # (a narrow no-break space, in local times, shown as a plain one)
    lines = [mrkdwn(line).replace("\u202f", " ")[:SECTION_CHARS]
             for line in digest_lines(alerts, "UTC")]  # fmt: skip
    sections: list[str] = [mrkdwn(digest_head(alerts))]
    shown = 0
    for line in lines:
        if len(sections[-1]) + 1 + len(line) <= SECTION_CHARS:
            sections[-1] += "\n" + line
        elif len(sections) < MAX_BLOCKS - 1:  # (one block kept for "+N more")
            sections.append(line)
        else:
            break
        shown += 1
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=t)) for t in sections]
    if shown < len(alerts):
        more = MarkdownTextObject(text=f"+{len(alerts) - shown} more")
        blocks.append(ContextBlock(elements=[more]))
    return sections[0], [b.to_dict() for b in blocks]


class SlackWebhookSender:
    kind = "slack_webhook"

    def __init__(self, dest: SlackWebhookDestination, crm_url: str | None = None) -> None:
        self.dest = dest
        self.crm_url = crm_url
        self.client = AsyncWebhookClient(
            dest.webhook_url.value,
            timeout=int(max(1, dest.timeout_seconds)),
            retry_handlers=retry_handlers(self.kind),
            logger=sdk_log,
        )

    async def send(self, alerts: list[Alert], person: Person | None) -> Outcome:
        text, blocks = _text_and_blocks(alerts, crm_link(self.crm_url, alerts))
        try:
            response = await self.client.send(text=text, blocks=blocks)
        except (TimeoutError, aiohttp.ClientError) as e:
            return Retry(f"network: {type(e).__name__}")
        retry_after = _header(response.headers, "retry-after")
        return outcome_of_status(response.status_code, response.body.strip()[:200], retry_after)

    def describe(self) -> str:
        return "slack_webhook " + _masked(self.dest.webhook_url.value)

    async def close(self) -> None:
        pass


class SlackApiSender:
    kind = "slack_api"

    def __init__(self, dest: SlackApiDestination, crm_url: str | None = None) -> None:
        self.dest = dest
        self.crm_url = crm_url
        self.client = AsyncWebClient(
            token=dest.token.value,
            base_url=dest.base_url if dest.base_url.endswith("/") else dest.base_url + "/",
            timeout=int(max(1, dest.timeout_seconds)),
            retry_handlers=retry_handlers(self.kind),
            logger=sdk_log,
        )

    async def send(self, alerts: list[Alert], person: Person | None) -> Outcome:
        channel = (person.slack if person else None) or self.dest.channel
        if not channel:
            return Failed("no_recipient: neither the owner's slack id nor a channel is set")
        text, blocks = _text_and_blocks(alerts, crm_link(self.crm_url, alerts))
        try:
            response = await self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False
            )
        except SlackApiError as e:
            error = str(e.response.get("error") or "") if e.response.data else ""
            status = e.response.status_code
            if error in TRANSIENT_ERRORS or status == 429 or status >= 500:
                after = _header(e.response.headers, "retry-after")
                outcome = outcome_of_status(status if status != 200 else 503, error, after)
                return outcome
            return Failed(error or f"http_{status}", status)
        except (TimeoutError, aiohttp.ClientError) as e:
            return Retry(f"network: {type(e).__name__}")
        return Delivered(str(response.get("ts") or "") or None)

    def describe(self) -> str:
        return f"slack_api {self.dest.base_url} token=***"

    async def close(self) -> None:
        pass


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def _masked(url: str) -> str:
    """A webhook URL is a secret: keep the scheme and host only."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/***"
