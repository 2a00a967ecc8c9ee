"""SnapStart hooks: every environment restored from one snapshot gets its own randomness, credentials and clients.

Lambda's hook module (snapshot_restore_py) exists only in the managed Python runtime: a fake stands in for it here,
recording what is registered so the test can play a restore.
"""

from __future__ import annotations

import functools
import random
import sys
import types
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from imgplat_common import snapstart
from imgplat_common.keys import new_image_id


class FakeHookModule(types.ModuleType):
    """snapshot_restore_py's two registration functions, keeping what they are given."""

    def __init__(self) -> None:
        super().__init__(snapstart.SNAPSHOT_RESTORE_MODULE)
        self.after_restore: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def register_before_snapshot(self, func: Callable[..., Any], *args: Any) -> Callable[..., Any]:
        raise AssertionError("nothing needs to run before the snapshot")

    def register_after_restore(self, func: Callable[..., Any], *args: Any) -> Callable[..., Any]:
        self.after_restore.append((func, args))
        return func

    def restore(self) -> None:
        """What Lambda does when it resumes an environment from the snapshot."""
        for func, args in self.after_restore:
            func(*args)


@pytest.fixture
def lambda_hooks(monkeypatch: pytest.MonkeyPatch) -> FakeHookModule:
    hooks = FakeHookModule()
    monkeypatch.setitem(sys.modules, snapstart.SNAPSHOT_RESTORE_MODULE, hooks)
    return hooks


def test_outside_lambdas_runtime_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no hook module (a None entry makes the import fail, as on a laptop or in the local platform)
    monkeypatch.setitem(sys.modules, snapstart.SNAPSHOT_RESTORE_MODULE, None)
    # When a store registers its clients, Then nothing happens and nothing fails
    assert snapstart.renew_after_restore(functools.cache(object)) is False


def test_two_environments_restored_from_one_snapshot_draw_different_random_numbers(
    lambda_hooks: FakeHookModule,
) -> None:
    # Given the random module's state at the moment of the snapshot
    snapstart.renew_after_restore()
    random.seed(20261203)
    snapshot_state = random.getstate()
    draws = []
    for _environment in range(2):
        # When an environment resumes from that state
        random.setstate(snapshot_state)
        lambda_hooks.restore()
        draws.append(random.getrandbits(64))
    # Then each environment has its own sequence (without the hook both would draw the same number)
    assert draws[0] != draws[1]


def test_after_a_restore_cached_clients_are_made_anew(lambda_hooks: FakeHookModule) -> None:
    # Given a store's client made once per container (functools.cache) and already made before the snapshot
    made: list[object] = []

    @functools.cache
    def client() -> object:
        made.append(object())
        return made[-1]

    snapshot_client = client()
    snapstart.renew_after_restore(client)
    # When the environment is restored
    lambda_hooks.restore()
    # Then the next use makes this environment's own client (its own connections and credentials)
    assert client() is not snapshot_client
    assert len(made) == 2


def test_after_a_restore_boto3_resolves_credentials_again(
    lambda_hooks: FakeHookModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given boto3's default session, which holds the credentials it resolved, made before the snapshot
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3.session.Session(region_name="us-east-1"))
    snapstart.renew_after_restore()
    # When the environment is restored
    lambda_hooks.restore()
    # Then the next client builds a new session, which resolves this environment's credentials
    assert boto3.DEFAULT_SESSION is None


def test_image_ids_do_not_come_from_a_seeded_prng() -> None:
    # Given two environments whose `random` state is identical (the same snapshot, no hook run)
    ids = []
    for _environment in range(2):
        random.seed(42)
        # When each makes an image id in the same millisecond
        ids.append(new_image_id(now_ms=1_764_720_000_000))
    # Then the ids differ: their random part comes from the operating system, not from `random`
    assert ids[0] != ids[1]
    assert ids[0][:12] == ids[1][:12]  # only the time prefix is shared
