"""The gateway's settings: a rate limit that is not a rate stops start-up naming the setting."""

from __future__ import annotations

import pytest

from gateway.settings import gateway_settings
from streams.plumbing.settings import SettingsError


def test_a_rate_limit_that_is_not_a_rate_is_refused_naming_its_variable() -> None:
    with pytest.raises(SettingsError, match=r"source_limit \(LEADTEMP_GATEWAY_SOURCE_LIMIT\)"):
        gateway_settings({}, {"LEADTEMP_GATEWAY_SOURCE_LIMIT": "fast"})


def test_the_limits_default_to_rates_per_second() -> None:
    settings = gateway_settings({}, {})
    assert (settings.source_limit, settings.key_limit) == ("2000/second", "1000/second")
