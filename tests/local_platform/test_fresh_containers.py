"""A new in-process deployment forgets what loaded handler modules cached, and only that."""

from __future__ import annotations

import sys
import types
from functools import cache
from typing import Protocol

from local.lambdas import start_fresh_containers


def test_cached_functions_are_cleared_and_a_protocol_naming_cache_clear_is_left_alone(monkeypatch):
    module = types.ModuleType("imgplat_fake_store")
    calls: list[int] = []

    @cache
    def client() -> int:
        calls.append(1)
        return len(calls)

    class CachedFactory(Protocol):  # what imgplat_common.snapstart declares: a class, nothing cached in it
        def cache_clear(self) -> None: ...

    for value in (client, CachedFactory):
        value.__module__ = module.__name__
        setattr(module, value.__name__, value)
    monkeypatch.setitem(sys.modules, module.__name__, module)

    assert client() == client() == 1
    start_fresh_containers()
    assert client() == 2
