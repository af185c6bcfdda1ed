"""Quota arithmetic with time passed in: Vault's buckets, blocks and headers; the most specific rule."""

from __future__ import annotations

from strongroom.core.quotas.limiter import STALE_AFTER, ClientBuckets
from strongroom.core.quotas.model import QuotaConfig, RateLimitQuota, Scope, most_specific


def test_a_bucket_refills_whole_at_each_interval_from_the_first_request() -> None:
    buckets = ClientBuckets(tokens=2, interval=10.0)
    first, second, third = (buckets.take("10.0.0.1", now) for now in (100.0, 101.0, 109.5))
    assert [first.allowed, second.allowed, third.allowed] == [True, True, False]
    assert first.headers == {
        "X-Ratelimit-Limit": "2",
        "X-Ratelimit-Remaining": "1",
        "X-Ratelimit-Reset": "10",
    }
    assert third.headers["Retry-After"] == third.headers["X-Ratelimit-Reset"] == "0"
    assert buckets.take("10.0.0.2", 109.5).allowed  # another address has a bucket of its own
    assert buckets.take("10.0.0.1", 110.0).allowed  # the next interval


def test_a_blocked_client_is_refused_until_the_block_has_passed() -> None:
    buckets = ClientBuckets(tokens=1, interval=1.0, block_interval=5.0)
    assert buckets.take("a", 0.0).allowed
    refused = buckets.take("a", 0.5)
    assert not refused.allowed
    assert refused.headers["Retry-After"] == "5"
    blocked = buckets.take("a", 2.0)  # a fresh interval, but still blocked: only Retry-After
    assert (blocked.allowed, blocked.headers) == (False, {"Retry-After": "3"})
    assert buckets.take("a", 5.6).allowed


def test_without_headers_an_allowed_request_builds_none() -> None:
    buckets = ClientBuckets(tokens=1, interval=1.0)
    assert buckets.take("a", 0.0, headers=False).headers == {}


def test_idle_clients_are_forgotten() -> None:
    buckets = ClientBuckets(tokens=1, interval=1.0)
    for n in range(100):
        buckets.take(f"10.0.0.{n}", 0.0)
    buckets.take("10.0.1.1", STALE_AFTER + 1)
    assert len(buckets) == 1


def test_the_exhausted_check_spends_nothing() -> None:
    buckets = ClientBuckets(tokens=1, interval=1.0)
    assert not buckets.exhausted("a", 0.0)
    assert not buckets.exhausted("a", 0.0)
    buckets.take("a", 0.0)
    assert buckets.exhausted("a", 0.1)
    assert not buckets.exhausted("a", 1.0)


def test_the_most_specific_rule_wins() -> None:
    rules = {
        Scope(): "global",
        Scope("secret/"): "mount",
        Scope("secret/", "data/app"): "exact",
        Scope("secret/", "data/ap*"): "glob",
        Scope("auth/approle/", "", "web"): "role",
    }
    assert most_specific(rules, "secret/", "data/app", "", True) == "exact"
    assert most_specific(rules, "secret/", "data/app/", "", True) == "exact"
    assert most_specific(rules, "secret/", "data/apple", "", True) == "glob"
    assert most_specific(rules, "secret/", "data/apple", "", False) == "mount"
    assert most_specific(rules, "secret/", "data/other", "", True) == "mount"
    assert most_specific(rules, "kv/", "x", "", True) == "global"
    assert most_specific(rules, "auth/approle/", "login", "web", False) == "role"
    assert most_specific(rules, "auth/approle/", "login", "api", False) == "global"
    assert most_specific({Scope("secret/"): "mount"}, "kv/", "x", "", False) is None


def test_rates_round_half_away_from_zero_and_exempt_paths_match_by_prefix() -> None:
    assert RateLimitQuota("q", Scope(), 2.5).tokens == 3
    assert RateLimitQuota("q", Scope(), 2.4).tokens == 2
    config = QuotaConfig()
    assert config.exempt("sys/health")
    assert config.exempt("sys/seal-status")
    assert not config.exempt("sys/mounts")
    assert not QuotaConfig(rate_limit_exempt_paths=()).exempt("sys/health")
