"""The sources file (`LEADTEMP_SOURCES`, YAML): which senders the gateway takes, their secrets
(from the environment or files, never in the file), and how their payloads become the
contract's events. Validated at start-up like the rules file: an error names the key path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scoring import EVENT_TYPES, FormKind, PageCategory, validation_message
from streams.plumbing.settings import Secret


class SourcesError(ValueError):
    """The sources file is wrong: one `file: key.path: reason` line per problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrackMapping(_Strict):
    """The contract event a Segment `track` call of one name becomes."""

    type: str
    form_kind: FormKind | None = None
    # Contract field -> the Segment property it is taken from (e.g. webinar_id: webinarId).
    properties: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> Self:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"type {self.type!r} is not a contract event type")
        if self.type == "form.submitted" and self.form_kind is None:
            raise ValueError("form.submitted needs a form_kind")
        return self


class Segment(_Strict):
    """Segment's HTTP Tracking API (or RudderStack's, which speaks it): `page` calls become
    web.page_viewed, `track` calls of the names under `events` their contract event."""

    write_keys: list[Secret] = Field(min_length=1)
    # URL path pattern (fnmatch: `/pricing*`) -> page_category; the first that matches wins,
    # a page that none matches is `other`.
    pages: dict[str, PageCategory] = Field(default_factory=dict)
    events: dict[str, TrackMapping] = Field(default_factory=dict)


class SendGrid(_Strict):
    """SendGrid's Event Webhook, signed (Mail Settings → Signed Event Webhook): `public_key`
    is the verification key SendGrid shows (base64); a request signed longer ago than
    `max_age_seconds` is refused as a replay."""

    public_key: Secret
    max_age_seconds: int = Field(default=300, ge=10, le=86_400)


class Mailgun(_Strict):
    """Mailgun's webhooks: `signing_key` is the HTTP webhook signing key (Sending → Webhooks);
    a request signed longer ago than `max_age_seconds` is refused as a replay."""

    signing_key: Secret
    max_age_seconds: int = Field(default=300, ge=10, le=86_400)


# The contract's lead fields and form fields a form answer may fill.
FormTarget = Literal["email", "name", "job_title", "company", "country", "budget", "timeline",
                     "pain_point", "uses_integrations", "message"]  # fmt: skip


class TypeformForm(_Strict):
    """One Typeform form: the form_kind its responses are, and which answer (by the field's
    `ref`, else its id) fills which contract field."""

    form_kind: FormKind
    answers: dict[FormTarget, str] = Field(default_factory=dict)


class Typeform(_Strict):
    """Typeform's webhooks, signed with `secret` (the webhook's secret: Typeform-Signature).
    `lead_id_hidden`: the hidden field holding the CRM id, when the form has one (else the
    lead is the lowercased email answer)."""

    secret: Secret
    lead_id_hidden: str | None = None
    forms: dict[str, TypeformForm] = Field(min_length=1)  # form id -> mapping


def _email_only() -> dict[FormTarget, str]:
    return {"email": "email"}


class GenericForm(_Strict):
    """A form of your own that posts to `/v1/forms/<name>` (JSON, or as an HTML form posts):
    the token it must bear, its form_kind, which posted field fills which contract field,
    and the field holding a CRM id, if any (else the lead is the lowercased email)."""

    token: Secret
    form_kind: FormKind
    answers: dict[FormTarget, str] = Field(default_factory=_email_only)
    lead_id_field: str | None = None


class Zoom(_Strict):
    """Zoom's webinar webhooks: `secret_token` is the app's Secret Token (it signs requests
    and answers Zoom's endpoint URL validation); older than `max_age_seconds` is a replay."""

    secret_token: Secret
    max_age_seconds: int = Field(default=300, ge=10, le=86_400)


class Sources(_Strict):
    segment: Segment | None = None
    sendgrid: SendGrid | None = None
    mailgun: Mailgun | None = None
    typeform: Typeform | None = None
    zoom: Zoom | None = None
    forms: dict[str, GenericForm] = Field(default_factory=dict)  # name -> its form

    @property
    def names(self) -> list[str]:
        return [n for n in ("segment", "sendgrid", "mailgun", "typeform", "zoom")
                if getattr(self, n) is not None] + (["forms"] if self.forms else [])  # fmt: skip


def sources_from_mapping(
    data: Any, source: str = "sources", environ: Mapping[str, str] | None = None
) -> Sources:
    context: dict[str, Any] = {} if environ is None else {"environ": environ}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourcesError(f"{source}: (top level): must be a mapping of keys")
    try:
        return Sources.model_validate(data, context=context)
    except ValidationError as e:
        raise SourcesError(validation_message(e, source)) from None


def sources_from_file(path: str | None, environ: Mapping[str, str] | None = None) -> Sources:
    """The sources file at `path`; none: only the contract's own events (/v1/events)."""
    if path is None:
        return Sources()
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise SourcesError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise SourcesError(f"{path}: not valid YAML: {e}") from None
    return sources_from_mapping(data, path, environ)

