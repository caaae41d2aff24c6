"""Senders, one per destination type of the routing file."""

from __future__ import annotations

from rich.console import Console

from alerts.destinations.base import Sender
from alerts.destinations.console import ConsoleSender
from alerts.destinations.slack import SlackApiSender, SlackWebhookSender
from alerts.destinations.sms import TwilioSmsSender
from alerts.destinations.webhook import WebhookSender
from alerts.routing import Routing


def senders_for(routing: Routing, console: Console | None = None) -> dict[str, Sender]:
    """A sender for every destination of the routing file, by destination name."""
    out: dict[str, Sender] = {}
    for name, dest in routing.destinations.items():
        if dest.type == "console":
            out[name] = ConsoleSender(console, routing.crm_url)
        elif dest.type == "slack_webhook":
            out[name] = SlackWebhookSender(dest, routing.crm_url)
        elif dest.type == "slack_api":
            out[name] = SlackApiSender(dest, routing.crm_url)
        elif dest.type == "twilio_sms":
            out[name] = TwilioSmsSender(dest, routing.crm_url)
        else:
            out[name] = WebhookSender(dest, routing.crm_url)
    return out
