"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` over the same connection pool
for every cache call, and building one fills its table of some 170 response callbacks each time.
An API request makes several cache calls (the API key and its last use, oms/core/auth.py; the
per-key and per-tenant throttles), so that was a noticeable share of a cheap request's Python
(about 0.1 ms per call on this machine). A client holds no state of its own beyond its pool (it
takes a connection from the pool for each command and gives it back), so one per pool serves
every call, from any thread. Everything else is Django's: servers, serializer, pool options.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
