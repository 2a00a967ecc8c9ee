"""imgplat_common.cold_start: in Lambda, no cyclic garbage collection from the handlers package's import until the
first invocation has answered; that invocation freezes what init made. (tests/test_cold_start.py checks that every
real handler does this.)"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from imgplat_common import cold_start


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """Whatever a test does to the collector, the next test finds it on, with nothing frozen."""
    yield
    cold_start.resume_garbage_collection()
    gc.unfreeze()
    gc.enable()


@pytest.mark.usefixtures("collector_restored")
def test_in_lambda_the_collector_is_off_until_the_first_invocation_then_init_is_frozen(monkeypatch):
    # Given Lambda's runtime, and a handler wrapped to end the cold start
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    calls = []

    @cold_start.ends_cold_start
    def handler(event: dict[str, str], context: object) -> str:
        calls.append(gc.isenabled())
        return f"answered {event['n']}"

    frozen_before = gc.get_freeze_count()
    # When the handlers package pauses collection at import
    cold_start.pause_garbage_collection()
    paused = not gc.isenabled()
    made_at_init = [[object()] for _ in range(100)]  # containers the collector tracks
    # And the handler is invoked twice
    answers = [handler({"n": "1"}, None), handler({"n": "2"}, None)]
    # Then collection was off during init and the first request, was back on for the second, and init's objects are
    # frozen
    assert paused
    assert calls == [False, True]
    assert gc.isenabled()
    assert answers == ["answered 1", "answered 2"]
    assert gc.get_freeze_count() >= frozen_before + len(made_at_init)
    assert handler.__name__ == "handler"


@pytest.mark.usefixtures("collector_restored")
def test_outside_lambda_pausing_does_nothing(monkeypatch):
    # Given a process that is not Lambda's runtime (tests, the local platform's workers)
    monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    frozen_before = gc.get_freeze_count()
    # When the handlers package asks for the pause, and a handler is invoked
    cold_start.pause_garbage_collection()
    enabled_after_pause = gc.isenabled()
    cold_start.ends_cold_start(lambda: None)()
    # Then the collector stayed on and nothing was frozen
    assert enabled_after_pause
    assert gc.get_freeze_count() == frozen_before


@pytest.mark.usefixtures("collector_restored")
def test_a_collector_someone_else_turned_off_stays_off(monkeypatch):
    # Given Lambda's runtime with the collector already turned off by someone else (their choice, not ours to undo)
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    gc.disable()
    frozen_before = gc.get_freeze_count()
    # When the handlers package pauses it and a handler is invoked
    cold_start.pause_garbage_collection()
    cold_start.ends_cold_start(lambda: None)()
    # Then it is still off, and nothing was frozen
    assert not gc.isenabled()
    assert gc.get_freeze_count() == frozen_before


@pytest.mark.usefixtures("collector_restored")
def test_a_first_invocation_that_raises_still_turns_collection_back_on(monkeypatch):
    # Given Lambda's runtime with collection paused at import, and a handler that fails its first request
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    cold_start.pause_garbage_collection()

    @cold_start.ends_cold_start
    def handler() -> None:
        raise ValueError("bad event")

    # When it is invoked
    with pytest.raises(ValueError, match="bad event"):
        handler()
    # Then the error reached the caller and the collector is on again
    assert gc.isenabled()
