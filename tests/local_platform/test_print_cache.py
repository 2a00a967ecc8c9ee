"""The cache of `osls print`: a warm start prints nothing again, and the cache stays small however often it starts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import local.stack
from local.platform import MOTO_SETTINGS, LocalPlatform
from local.stack import PRINTS_KEPT_PER_STAGE, printed_config, printed_config_with_outputs


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(local.stack, "CACHE_DIR", tmp_path)
    return tmp_path


@pytest.fixture
def osls_prints(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every `osls print` command run; each answers a config that echoes its params, as the framework would."""
    commands: list[list[str]] = []

    def fake_osls(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        params = dict(argument.removeprefix("--param=").split("=", 1) for argument in command if "--param=" in argument)
        config = {"service": "upload", "provider": {"environment": {"KEY": params.get("kmsKeyArn", "")}}}
        return subprocess.CompletedProcess(command, 0, stdout="osls says hi\n" + json.dumps(config), stderr="")

    monkeypatch.setattr(local.stack.subprocess, "run", fake_osls)
    return commands


def test_outputs_made_up_anew_each_start_print_once_and_are_put_in_after(cache_dir, osls_prints):
    first = printed_config_with_outputs("upload", "local", {"kmsKeyArn": "arn:aws:kms:us-east-1:1:key/first"})
    second = printed_config_with_outputs("upload", "local", {"kmsKeyArn": "arn:aws:kms:us-east-1:1:key/second"})

    assert len(osls_prints) == 1
    assert first["provider"]["environment"]["KEY"] == "arn:aws:kms:us-east-1:1:key/first"
    assert second["provider"]["environment"]["KEY"] == "arn:aws:kms:us-east-1:1:key/second"


def test_plain_params_are_still_part_of_the_cache_key(cache_dir, osls_prints):
    printed_config("upload", "dev", {"vpcMode": "none"})
    printed_config("upload", "dev", {"vpcMode": "private"})
    printed_config("upload", "dev", {"vpcMode": "none"})

    assert len(osls_prints) == 2


def print_and_date(params: dict[str, str], cache_dir: Path, used_at: float) -> None:
    """printed_config, then the print it used dated `used_at` (a real clock may not tell quick prints apart)."""
    before = {path: path.stat().st_mtime_ns for path in cache_dir.glob("*.json")}
    printed_config("upload", "dev", params)
    (used,) = [path for path in cache_dir.glob("*.json") if path.stat().st_mtime_ns != before.get(path)]
    os.utime(used, (used_at, used_at))


def test_only_the_most_recently_used_prints_of_a_stage_are_kept(cache_dir, osls_prints):
    for number in range(PRINTS_KEPT_PER_STAGE + 5):
        print_and_date({"logLevel": str(number)}, cache_dir, used_at=1_000 + number)
    printed_config("upload", "local", {})

    assert len(list(cache_dir.glob("upload-dev-*.json"))) == PRINTS_KEPT_PER_STAGE
    assert len(list(cache_dir.glob("upload-local-*.json"))) == 1


def test_a_print_used_again_is_kept_however_old_it_is(cache_dir, osls_prints):
    print_and_date({"logLevel": "used again"}, cache_dir, used_at=1_000)
    for number in range(PRINTS_KEPT_PER_STAGE - 1):
        print_and_date({"logLevel": str(number)}, cache_dir, used_at=2_000 + number)
    print_and_date({"logLevel": "used again"}, cache_dir, used_at=3_000)
    print_and_date({"logLevel": "one more"}, cache_dir, used_at=4_000)
    osls_prints.clear()

    printed_config("upload", "dev", {"logLevel": "used again"})

    assert osls_prints == []


def test_a_second_deployment_into_a_fresh_emulator_runs_no_osls_print(monkeypatch):
    """A warm start: new emulator, new KMS key ARN, the same services; every config comes from the cache."""
    real_run = subprocess.run
    prints: list[list[str]] = []

    def counting_run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        prints.append(command)
        return real_run(command, **options)

    monkeypatch.setattr(local.stack.subprocess, "run", counting_run)
    key_arns = []
    for _ in range(2):
        prints.clear()
        with mock_aws(config=MOTO_SETTINGS):
            platform = LocalPlatform(lambda name: boto3.client(name, region_name="us-east-1"))
            platform.deploy()
            key_arns.append(platform.output("upload", "KmsKeyArn"))
            environment = platform.function("orchestrator").environment
            assert environment["KMS_KEY_ARN"] == key_arns[-1]

    assert key_arns[0] != key_arns[1], "the emulator made a new key: the test shows what it means to"
    assert prints == []
