"""The Redis cache (oms/core/cache.py) keeps one client per connection pool and otherwise behaves
as Django's: what the API's authentication and throttles ask of it works as before."""

from __future__ import annotations

import os
import uuid

import pytest

from oms.core.cache import RedisCache

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the Redis of REDIS_URL")


@pytest.fixture
def cache():
    backend = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    yield backend
    backend.close()


def test_one_client_serves_every_call(cache):
    client = cache._cache.get_client()
    assert cache._cache.get_client("a") is client
    assert cache._cache.get_client("b", write=True) is client  # one server: reads and writes share its pool


def test_it_keeps_what_the_api_keeps_in_it(cache):
    assert cache.get("key") is None
    assert cache.add("key", {"prefix": "abc"}, 30) is True
    assert cache.add("key", "other", 30) is False  # never over what is there
    assert cache.get("key") == {"prefix": "abc"}
    cache.set_many({"mark:1": "read-the-database", "mark:2": "read-the-database"}, 10)
    assert cache.get_many(["mark:1", "mark:2"]) == {
        "mark:1": "read-the-database",
        "mark:2": "read-the-database",
    }
    assert cache.add("count", 0, 30) and cache.incr("count") == 1 and cache.decr("count") == 0
    cache.delete_many(["key", "mark:1", "mark:2", "count"])
    assert cache.get_many(["key", "mark:1", "mark:2", "count"]) == {}
