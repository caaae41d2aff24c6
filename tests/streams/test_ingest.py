"""Where the ingest hop routes each event, and what it places in the directory (a real Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from scoring import Engine, parse_event
from streams.bundles import EVENT, LINK
from streams.ingest import Route, Router
from streams.placement import partition_of
from streams.plumbing.clients import redis_client
from streams.plumbing.settings import Connections
from streams.store import RedisState
from tests.conftest import Services

pytestmark = pytest.mark.services
P = 8


def event(lead: str | None, visitor: str | None = None, **profile: str) -> Any:
    body: dict[str, Any] = {"event_id": "e", "type": "web.page_viewed", "page_category": "blog",
                            "occurred_at": "2026-10-05T09:00:00Z"}  # fmt: skip
    if lead is not None:
        body["lead"] = {"id": lead, **profile}
    if visitor is not None:
        body["visitor_id"] = visitor
    return parse_event(orjson.dumps(body), 2_000_000_000_000)


def routes(services: Services, prefix: str, batches: list[list[Any]],
           linked: dict[str, str] | None = None) -> list[list[Route]]:  # fmt: skip
    async def go() -> list[list[Route]]:
        redis = redis_client(Connections(redis_url=services.redis_url))
        try:
            directory = RedisState(redis, prefix, P).directory
            for visitor, lead in (linked or {}).items():
                await directory.link_visitor(visitor, lead)
            router = Router(Engine(), directory, P)
            return [await router.routes(batch) for batch in batches]
        finally:
            await redis.aclose()

    return asyncio.run(go())


def test_a_new_lead_goes_where_its_first_event_places_it_and_stays_there(
    services: Services, redis_prefix: str
) -> None:
    first = event("pat", email="pat@acme.com")
    later = [event("pat"), event("pat", email="pat@globex.com")]
    [one, two] = routes(services, redis_prefix, [[first, later[0]], later])
    acme = partition_of("acme.com", P)
    assert [p for p, _, _ in one] == [acme, acme] and [p for p, _, _ in two] == [acme, acme]


def test_an_anonymous_visitor_goes_to_its_own_partition_until_a_lead_claims_it(
    services: Services, redis_prefix: str
) -> None:
    [[(p, kind, attachment)]] = routes(services, redis_prefix, [[event(None, "v-1")]])
    assert (p, kind, attachment) == (partition_of("v-1", P), EVENT, None)


def test_a_linked_visitors_page_view_goes_to_its_lead_saying_so(
    services: Services, redis_prefix: str
) -> None:
    [[_, (p, kind, attachment)]] = routes(services, redis_prefix,
                                          [[event("pat"), event(None, "v-1")]], {"v-1": "pat"})  # fmt: skip
    assert (p, kind, attachment) == (partition_of("pat", P), EVENT, {"v": "pat"})


def test_a_lead_naming_an_unclaimed_visitor_elsewhere_goes_first_to_the_visitor(
    services: Services, redis_prefix: str
) -> None:
    visitor = next(f"v-{i}" for i in range(100) if partition_of(f"v-{i}", P) != partition_of("pat", P))
    [[(p, kind, _)]] = routes(services, redis_prefix, [[event("pat", visitor)]])
    assert (p, kind) == (partition_of(visitor, P), LINK)
