"""A per-token mutation rate limit (off by default) answers RATE_LIMITED and changes nothing."""

from __future__ import annotations

from app.auth import Role
from app.clock import FrozenClock
from app.db import Database
from app.graphql.ratelimit import MutationRateLimiter
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import CREATE, create_order, order_input
from tests.security_helpers import client_for, log_position


async def test_a_token_over_its_mutation_rate_is_refused_and_others_are_not(db: Database, clock: FrozenClock) -> None:
    busy_token = await issue_token(db, clock, Role.STAFF, "busy")
    calm_token = await issue_token(db, clock, Role.STAFF, "calm")
    async with client_for(db, clock, mutation_rate_per_minute=3) as http:
        busy, calm = Api(http, busy_token), Api(http, calm_token)
        for _ in range(3):
            await create_order(busy, clock.now())
        before = await log_position(db)
        error = await busy.error(CREATE, {"input": order_input(clock.now())})
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfterSeconds"] > 0
        assert await log_position(db) == before
        assert (await busy.ok("{ customerOrders(first: 5) { edges { cursor } } }"))["customerOrders"]["edges"]  # reads go on
        await create_order(calm, clock.now())


async def test_each_mutation_in_a_document_counts(db: Database, clock: FrozenClock) -> None:
    token = await issue_token(db, clock, Role.STAFF, "batcher")
    async with client_for(db, clock, mutation_rate_per_minute=2) as http:
        api = Api(http, token)
        three = (
            "mutation($a: CreateCustomerOrderInput!, $b: CreateCustomerOrderInput!, $c: CreateCustomerOrderInput!) {"
            " a: createCustomerOrder(input: $a) { id } b: createCustomerOrder(input: $b) { id } c: createCustomerOrder(input: $c) { id } }"
        )
        variables = {k: order_input(clock.now()) for k in "abc"}
        assert await api.code(three, variables) == "RATE_LIMITED"
        assert await log_position(db) == (0, 0)


async def test_without_the_setting_there_is_no_limit(staff: Api, clock: FrozenClock) -> None:
    for _ in range(5):
        await create_order(staff, clock.now())


def test_the_bucket_refills_with_time() -> None:
    now = [0.0]
    limiter = MutationRateLimiter(60, burst=2, clock=lambda: now[0])
    assert limiter.take("t") is None and limiter.take("t") is None
    wait = limiter.take("t")
    assert wait is not None and 0 < wait <= 1.0
    now[0] += 1.0
    assert limiter.take("t") is None
    assert limiter.take("other") is None


def test_the_number_of_buckets_is_bounded() -> None:
    limiter = MutationRateLimiter(60, max_keys=3)
    for i in range(10):
        limiter.take(f"t{i}")
    assert len(limiter._buckets) == 3
