"""A local HTTP server that speaks the provider APIs the notifier calls, as they document them:

- Slack incoming webhooks: POST /services/T…/B…/…, JSON {text, blocks}; 200 body "ok";
  errors as plain-text bodies ("invalid_payload", "no_text", "invalid_blocks", ...), 429
  with Retry-After. Both Slack APIs refuse blocks beyond Block Kit's documented limits: more
  than 50 blocks, a section's text over 3,000 characters, a header's over 150.
- Slack Web API chat.postMessage: POST /api/chat.postMessage, `Authorization: Bearer xoxb-…`;
  200 {"ok": true, "channel", "ts", "message"} or 200 {"ok": false, "error": "channel_not_found"},
  429 {"ok": false, "error": "ratelimited"} with Retry-After.
- Twilio Messages: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth
  (AccountSid:AuthToken), form To/From/Body; 201 with the Message resource, or 4xx
  {"code", "message", "more_info", "status"}.
- Any other POST path: a generic webhook receiver that records what it got (200 "ok").

Tests script failures per path (status, headers, body, delay) before the normal answer.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
from aiohttp import web

SLACK_TOKEN = "xoxb-test-token-0000"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-auth-token-secret"
WEBHOOK_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


@dataclass
class Scripted:
    status: int
    body: Any = None  # dict → JSON, str → text
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int  # what the server answered (0 while it has not)

    def json(self) -> Any:
        return orjson.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class Providers:
    """The fake providers in a thread; `url` is its base URL."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.scripts: dict[str, deque[Scripted]] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    # -------------------------------------------------------------- test API

    def script(self, path: str, *answers: Scripted) -> None:
        with self._lock:
            self.scripts.setdefault(path, deque()).extend(answers)

    def accepted(self, path_part: str = "") -> list[Request]:
        """Requests the provider accepted (2xx), whose path contains `path_part`."""
        with self._lock:
            return [r for r in self.requests if path_part in r.path and 200 <= r.status < 300]

    def all(self, path_part: str = "") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def twilio_messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"

    def start(self) -> Providers:
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # -------------------------------------------------------------- server

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        # Recorded on arrival: a client that timed out still reached the provider.
        record = Request(request.path, dict(request.headers), body, time.time(), 0)
        with self._lock:
            self.requests.append(record)
            queue = self.scripts.get(request.path)
            scripted = queue.popleft() if queue else None
        if scripted is not None:
            if scripted.delay:
                await asyncio.sleep(scripted.delay)
            response = _response(scripted.status, scripted.body, scripted.headers)
        else:
            response = self._normal(request, body)
        record.status = response.status
        return response

    def _normal(self, request: web.Request, body: bytes) -> web.Response:
        path = request.path
        if path.startswith("/services/"):
            payload = orjson.loads(body)
            if not payload.get("text") and not payload.get("blocks"):
                return _response(400, "no_text")
            if not blocks_within_limits(payload.get("blocks") or []):
                return _response(400, "invalid_blocks")
            return _response(200, "ok")
        if path == "/api/chat.postMessage":
            if request.headers.get("Authorization") != f"Bearer {SLACK_TOKEN}":
                return _response(200, {"ok": False, "error": "invalid_auth"})
            payload = _form_or_json(request, body)
            channel = payload.get("channel")
            if not channel:
                return _response(200, {"ok": False, "error": "channel_not_found"})
            blocks = payload.get("blocks") or []
            if isinstance(blocks, str):  # a form post carries them as JSON text
                blocks = orjson.loads(blocks)
            if not blocks_within_limits(blocks):
                return _response(200, {"ok": False, "error": "invalid_blocks"})
            ts = f"{time.time():.6f}"
            return _response(200, {"ok": True, "channel": channel, "ts": ts,
                                   "message": {"text": payload.get("text"), "ts": ts}})  # fmt: skip
        if path.startswith("/2010-04-01/Accounts/") and path.endswith("/Messages.json"):
            expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {expected}":
                return _response(401, {"code": 20003, "message": "Authenticate",
                                       "more_info": "https://www.twilio.com/docs/errors/20003",
                                       "status": 401})  # fmt: skip
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if not form.get("To", "").startswith("+"):
                return _response(400, twilio_error(21211, "The 'To' number is not valid."))
            return _response(201, {
                "sid": "SM" + uuid.uuid4().hex, "status": "queued", "to": form["To"],
                "from": form.get("From"), "body": form.get("Body"), "num_segments": "1",
                "account_sid": TWILIO_SID, "api_version": "2010-04-01",
            })  # fmt: skip
        return _response(200, "ok")


def blocks_within_limits(blocks: list[dict[str, Any]]) -> bool:
    """Block Kit's limits on a message's blocks (api.slack.com/reference/block-kit/blocks)."""
    if len(blocks) > 50:
        return False
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if block.get("type") == "section" and len(text) > 3000:
            return False
        if block.get("type") == "header" and len(text) > 150:
            return False
    return True


def twilio_error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}  # fmt: skip


def _form_or_json(request: web.Request, body: bytes) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(orjson.loads(body))
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def _response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> web.Response:
    if isinstance(body, dict):
        return web.Response(status=status, body=orjson.dumps(body), headers=headers,
                            content_type="application/json")  # fmt: skip
    return web.Response(status=status, text=body or "", headers=headers)
