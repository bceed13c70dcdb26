"""Verified tokens are trusted for a few seconds without a lookup; a revocation applies after that."""

from __future__ import annotations

from app.auth import Actor, Role, TokenCache


def test_a_cached_token_is_trusted_until_its_time_runs_out() -> None:
    now = [100.0]
    cache = TokenCache(ttl=5, clock=lambda: now[0])
    actor = Actor(name="dash", role=Role.VIEWER)
    cache.put("Bearer otk_a", actor)
    assert cache.get("Bearer otk_a") == actor
    assert cache.get("Bearer otk_b") is None
    now[0] += 5.5
    assert cache.get("Bearer otk_a") is None  # looked up again: a revoked token now fails
    assert "Bearer otk_a" not in str(cache._entries)  # only hashes are kept


def test_a_zero_time_turns_the_cache_off() -> None:
    cache = TokenCache(ttl=0)
    cache.put("Bearer otk_a", Actor(name="dash", role=Role.VIEWER))
    assert cache.get("Bearer otk_a") is None


def test_the_cache_stays_bounded() -> None:
    cache = TokenCache(ttl=60, maxsize=3)
    for n in range(10):
        cache.put(f"Bearer otk_{n}", Actor(name=f"t{n}", role=Role.VIEWER))
    assert len(cache._entries) <= 3


def test_a_cached_token_past_its_expiry_is_not_trusted() -> None:
    from datetime import datetime, timedelta, timezone

    noon = datetime(2027, 3, 1, 12, tzinfo=timezone.utc)
    cache = TokenCache(ttl=60)
    actor = Actor(name="visitor", role=Role.VIEWER, expires_at=noon)
    cache.put("Bearer otk_v", actor)
    assert cache.get("Bearer otk_v", noon - timedelta(seconds=1)) == actor
    assert cache.get("Bearer otk_v", noon) is None  # expired: looked up again, and refused there


def test_an_open_session_knows_when_its_cached_check_runs_out() -> None:
    now = [100.0]
    cache = TokenCache(ttl=5, clock=lambda: now[0])
    assert cache.fresh_for("Bearer otk_a") == 0.0
    cache.put("Bearer otk_a", Actor(name="dash", role=Role.VIEWER))
    now[0] += 2
    assert cache.fresh_for("Bearer otk_a") == 3.0
