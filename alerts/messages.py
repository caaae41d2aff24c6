"""What an alert says on each medium: Slack Block Kit, an SMS body, a webhook payload.

User-supplied text (names, titles, companies) is escaped here, once, for each medium."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.alert import Alert

_MENTION = re.compile(r"(^|\s)([@!#])(?=\w)")
_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # two septets each
MAX_SMS_SEGMENTS = 2


def mrkdwn(text: object) -> str:
    """Text safe inside Slack mrkdwn: no links, no <!channel>/<!here>, no @mentions."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        _defuse_mentions(s).replace("*", "∗").replace("`", "ʼ").replace("~", "∼").replace("\n", " ")
    )


def slack_plain(text: object) -> str:
    """Text for Slack plain_text fields: nothing that could read as a link or a mention."""
    return _defuse_mentions(plain(text).replace("<", "‹").replace(">", "›"))


def _defuse_mentions(s: str) -> str:
    # A zero-width joiner after @/!/# keeps "@channel" and "@here" plain text.
    return _MENTION.sub(lambda m: f"{m.group(1)}{m.group(2)}\u200d", s)


def plain(text: object) -> str:
    """Text with control and format characters removed (for SMS and terminals)."""
    s = "".join(c if unicodedata.category(c) not in _CONTROL else " " for c in str(text))
    return " ".join(s.split())


def headline(alert: Alert) -> str:
    """Who it is, in a few words: 'Lisa Chen, VP Operations at Acme Robotics'."""
    if alert.kind == "hot_account":
        return f"Account {alert.account_id}"
    c = alert.contact
    who = c.get("name") or alert.lead_id or "?"
    title, company = c.get("job_title"), c.get("company") or alert.account_id
    return f"{who}" + (f", {title}" if title else "") + (f" at {company}" if company else "")


def local_time(at: datetime, zone: str) -> str:
    """'14:08 CET' in the recipient's timezone."""
    return at.astimezone(ZoneInfo(zone)).strftime("%H:%M %Z")


def why(alert: Alert, limit: int = 3) -> list[str]:
    """The strongest distinct signals, e.g. ['demo_request', 'pricing_page_visit']."""
    names: list[str] = []
    for s in alert.top_signals:
        if s.signal not in names:
            names.append(s.signal)
    return names[:limit] or alert.reasons[:limit]


def crm_link(crm_url: str | None, alerts: list[Alert]) -> str | None:
    """The CRM link of a single alert (a digest has none)."""
    if crm_url is None or len(alerts) != 1:
        return None
    a = alerts[0]
    return crm_url.format(lead_id=a.lead_id or "", account_id=a.account_id or "")


def slack_message(alert: Alert, crm_link: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the Block Kit blocks of a Slack message."""
    who = mrkdwn(headline(alert))
    noun = "lead" if alert.kind == "hot_lead" else "account"
    text = f"{alert.priority} hot {noun}: {who}, respond by {_utc(alert.respond_by)}"
    s = alert.scores
    fields = [
        f"*Priority*\n{alert.priority}",
        f"*Respond by*\n<!date^{int(alert.respond_by.timestamp())}^{{date_short}} {{time}}|"
        f"{_utc(alert.respond_by)}>",
        "*Temperature*\nhot",
    ]
    if alert.kind == "hot_lead":
        fields.append(
            f"*Score*\n{s.get('total', 0):.1f} (fit {s.get('fit', 0):g} · engagement "
            f"{s.get('engagement', 0):.1f} · intent {s.get('intent', 0):.1f} · BANT "
            f"{s.get('bant', 0):g})"
        )
    else:
        fields.append(f"*Engaged stakeholders*\n{alert.engaged_stakeholders or 0}")
    signals = "\n".join(
        f"• {mrkdwn(sig.signal)} ({sig.kind}) +{sig.points:.1f} — "
        f"<!date^{int(sig.at.timestamp())}^{{date_short}} {{time}}|{_utc(sig.at)}>"
        for sig in alert.top_signals
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": slack_plain(
            f"🔥 {alert.priority} hot {noun}: {headline(alert)}")[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]  # fmt: skip
    if signals:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Why*\n{signals}"}})
    reasons = ", ".join(mrkdwn(r) for r in alert.reasons)
    version = mrkdwn(alert.rules_version or "?")
    context = {"type": "mrkdwn", "text": f"{reasons} · rules {version}"}
    blocks.append({"type": "context", "elements": [context]})
    if crm_link:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": f"Open {noun} in CRM"},
            "url": crm_link, "style": "primary"}]})  # fmt: skip
    return text, blocks


def sms_body(alert: Alert, zone: str, crm_link: str | None) -> str:
    """At most two SMS segments: who, why, priority and the deadline in the recipient's zone;
    the link and then detail are dropped first when it does not fit."""
    noun = "lead" if alert.kind == "hot_lead" else "account"
    deadline = f"Respond by {local_time(alert.respond_by, zone)}."
    head = f"{alert.priority} hot {noun}: {plain(headline(alert))}."
    reasons = f"Why: {', '.join(why(alert))}." if why(alert) else ""
    for parts in ([head, reasons, deadline, crm_link or ""], [head, reasons, deadline],
                  [head, deadline]):  # fmt: skip
        body = " ".join(p for p in parts if p)
        if sms_segments(body) <= MAX_SMS_SEGMENTS:
            return body
    # Still too long (a very long name): cut the head, keep the deadline.
    room = (134 if not is_gsm7(deadline) else 306) - len(deadline) - 2
    while True:
        body = f"{head[:room].rstrip()}… {deadline}"
        if sms_segments(body) <= MAX_SMS_SEGMENTS or room <= 10:
            return body
        room -= 10


def is_gsm7(text: str) -> bool:
    return all(c in GSM7 or c in GSM7_EXTENDED for c in text)


def sms_segments(text: str) -> int:
    """How many SMS segments a body takes (GSM-7: 160 / 153 per part; UCS-2: 70 / 67)."""
    if is_gsm7(text):
        units, single, multi = sum(2 if c in GSM7_EXTENDED else 1 for c in text), 160, 153
    else:
        units, single, multi = sum(2 if ord(c) > 0xFFFF else 1 for c in text), 70, 67
    return 1 if units <= single else -(-units // multi)


def digest_text(alerts: list[Alert], zone: str) -> str:
    """One message for alerts held back by a rate limit or quiet hours."""
    return "\n".join([digest_head(alerts), *digest_lines(alerts, zone)])


def digest_head(alerts: list[Alert]) -> str:
    return f"{len(alerts)} hot alerts held back:"


def digest_lines(alerts: list[Alert], zone: str) -> list[str]:
    return [f"{a.priority} {plain(headline(a))} (by {local_time(a.respond_by, zone)})"
            for a in alerts]  # fmt: skip


def sms_digest(alerts: list[Alert], zone: str) -> str:
    """A digest cut to two segments, naming how many more there are."""
    body = digest_text(alerts, zone)
    shown = len(alerts)
    while sms_segments(body) > MAX_SMS_SEGMENTS and shown > 1:
        shown -= 1
        body = digest_text(alerts[:shown], zone) + f"\n+{len(alerts) - shown} more"
        body = body.replace(f"{shown} hot alerts", f"{len(alerts)} hot alerts", 1)
    if sms_segments(body) > MAX_SMS_SEGMENTS:
        body = f"{len(alerts)} hot alerts held back."
    return body


def _utc(at: datetime) -> str:
    return at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")
