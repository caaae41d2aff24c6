"""The worker's HTTP endpoints over real HTTP: lookups behind the bearer token when one is set,
/metrics and the probes open; the interface it listens on."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cli.options import bind_or_exit
from scoring import Model, Rules
from streams.http import web_app
from streams.plumbing.clients import redis_client
from streams.plumbing.http import serve
from streams.plumbing.settings import Connections
from streams.store import RedisState
from tests.conftest import Services
from tests.live import http_json

pytestmark = pytest.mark.services
TOKEN = "s3cret-token-for-the-lookups"


async def always() -> dict[str, bool]:
    return {"ok": True}


@pytest.fixture
def endpoints(services: Services, redis_prefix: str) -> Iterator[int]:
    """The worker's endpoints, with TOKEN, on a port of 127.0.0.1 (served by a thread)."""
    sock = bind_or_exit(_free(), "LEADTEMP_METRICS_PORT", "127.0.0.1")
    assert sock is not None
    loop = asyncio.new_event_loop()
    ready: list[Any] = []

    async def start() -> None:
        redis = redis_client(Connections(redis_url=services.redis_url))
        app = web_app(RedisState(redis, redis_prefix, 4), Model(Rules()), always, always, TOKEN)
        ready.append(await serve(app, sock))

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()),
                                              loop.run_forever()), daemon=True)  # fmt: skip
    thread.start()
    port = sock.getsockname()[1]
    yield port
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


def _free() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_lookup_without_the_token_is_refused(endpoints: int) -> None:
    status, body = http_json(endpoints, "/leads/lisa")
    assert (status, body) == (401, {"error": "unauthorized"})


def test_a_lookup_with_a_wrong_token_is_refused(endpoints: int) -> None:
    wrong = {"Authorization": f"Bearer {TOKEN[:-1]}x"}
    assert http_json(endpoints, "/accounts/acme.com", wrong)[0] == 401


def test_a_lookup_with_the_token_is_answered(endpoints: int) -> None:
    status, body = http_json(endpoints, "/leads/nobody", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 404 and body["error"] == "not_found"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez"])
def test_the_probes_stay_open(endpoints: int, path: str) -> None:
    assert http_json(endpoints, path)[0] == 200


def test_the_server_listens_on_the_interface_given_only(endpoints: int) -> None:
    # Bound to 127.0.0.1: another of this machine's addresses does not answer.
    other = socket.gethostbyname(socket.gethostname())
    if other.startswith("127."):
        pytest.skip("this machine has no address but loopback")
    with pytest.raises(OSError), socket.create_connection((other, endpoints), timeout=2):
        pass


def test_an_address_not_of_this_machine_stops_start_up_naming_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as e:
        bind_or_exit(_free(), "LEADTEMP_METRICS_PORT", "192.0.2.1")  # TEST-NET-1
    assert e.value.code == 2
    assert "setting metrics_port (LEADTEMP_METRICS_PORT): 192.0.2.1:" in capsys.readouterr().err
