"""What bench/cold_start.py's verdicts stand on: the interval it prints around each median narrows with more rounds
and holds the median, and the zip table measures only the services that have a zip."""

from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import cold_start  # noqa: E402 - after the bench directory is importable


def _noisy_differences(rounds: int, seed: int) -> list[float]:
    # A handler 10 ms over its floor on a host whose speed moves by tens of ms between processes.
    noise = random.Random(seed)
    return [10.0 + noise.gauss(0.0, 35.0) for _ in range(rounds)]


def test_the_interval_holds_the_median_and_narrows_with_more_rounds() -> None:
    # Given ten runs of 21 rounds and ten runs of 84 rounds of the same handler
    runs = {rounds: [_noisy_differences(rounds, seed=rounds * 100 + run) for run in range(10)] for rounds in (21, 84)}
    widths: dict[int, list[float]] = {21: [], 84: []}
    for rounds, differences_of_runs in runs.items():
        for differences in differences_of_runs:
            # When the bench places each run's median
            low, high = cold_start.median_interval(differences)
            # Then each interval holds its median
            assert low <= statistics.median(differences) <= high
            widths[rounds].append(high - low)
    # And four times the rounds give intervals about half as wide (a median's spread falls with the root of n)
    assert statistics.mean(widths[84]) < 0.7 * statistics.mean(widths[21])


def test_identical_rounds_leave_no_doubt() -> None:
    # Given a machine that measured the same difference every round
    # When the bench places the median
    # Then the interval is that one value
    assert cold_start.median_interval([12.0] * 21) == (12.0, 12.0)


def test_the_zip_table_skips_services_without_functions() -> None:
    # Given the services of this repository, one of them (delivery) CloudFront only
    services = cold_start.services_with_zips()
    # Then only the services with Lambda functions are expected to have a zip (delivery was packaged on every run)
    assert "delivery" not in services
    assert {"auth", "upload", "processing", "retrieval"} <= set(services)
