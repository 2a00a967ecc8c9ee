"""The local osls plugins (scripts/osls-plugin-*.js), driven by node with a stand-in for the framework's objects."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from local.serverless_files import ROOT

DRIVER = """
const [pluginPath, hook, config] = [process.argv[1], process.argv[2], JSON.parse(process.argv[3])];
class FrameworkError extends Error { constructor(message, code) { super(message); this.code = code; } }
const serverless = {
  classes: { Error: FrameworkError },
  getProvider: () => ({ getStage: () => config.stage }),
  service: { custom: config.custom, provider: { compiledCloudFormationTemplate: { Resources: config.resources } } },
};
const Plugin = require(pluginPath);
try {
  new Plugin(serverless, {}, { log: { info() {} } }).hooks[hook]();
  console.log(JSON.stringify({ resources: config.resources }));
} catch (error) {
  console.log(JSON.stringify({ error: error.message, code: error.code }));
}
"""


def run_hook(plugin: str, hook: str, config: dict[str, Any]) -> dict[str, Any]:
    path = str(ROOT / "scripts" / plugin)
    result = subprocess.run(
        ["node", "-e", DRIVER, path, hook, json.dumps(config)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize(("stage", "origins"), [("prod", "*"), ("prod", "https://app.example.com, *")])
def test_prod_refuses_to_package_with_any_origin_and_names_the_param(stage, origins):
    custom = {"apiStage": {"corsOrigins": origins, "anyOriginRefusedIn": ["prod"]}}
    answer = run_hook("osls-plugin-api-stage.js", "before:package:initialize", {"stage": stage, "custom": custom})
    assert answer["code"] == "CORS_ANY_ORIGIN"
    assert '--param="corsOrigins=' in answer["error"] and stage in answer["error"]


@pytest.mark.parametrize(("stage", "origins"), [("prod", "https://app.example.com"), ("dev", "*")])
def test_named_origins_or_another_stage_package(stage, origins):
    custom = {"apiStage": {"corsOrigins": origins, "anyOriginRefusedIn": ["prod"]}}
    answer = run_hook("osls-plugin-api-stage.js", "before:package:initialize", {"stage": stage, "custom": custom})
    assert "error" not in answer


def test_every_api_service_refuses_any_origin_in_prod():
    from local.serverless_files import serverless_config

    for service in ("auth", "upload", "retrieval"):
        stage = serverless_config(service)["custom"]["apiStage"]
        assert stage["anyOriginRefusedIn"] == ["prod"], service
        assert stage["corsOrigins"] == serverless_config(service)["provider"]["environment"]["CORS_ORIGINS"], service


@pytest.mark.parametrize("policy", ["Delete", "Retain"])
def test_every_log_group_gets_the_stages_deletion_policy(policy):
    resources = {
        "ApiLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "WorkflowLogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 14}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }
    config = {"stage": "prod", "custom": {"logGroupDeletionPolicy": policy}, "resources": resources}
    answer = run_hook("osls-plugin-log-groups.js", "before:aws:package:finalize:saveServiceState", config)
    done = answer["resources"]
    for name in ("ApiLogGroup", "WorkflowLogGroup"):
        assert (done[name]["DeletionPolicy"], done[name]["UpdateReplacePolicy"]) == (policy, policy)
    assert "DeletionPolicy" not in done["Queue"]


def test_a_log_group_policy_other_than_delete_or_retain_is_refused():
    config = {"stage": "dev", "custom": {"logGroupDeletionPolicy": "Snapshot"}, "resources": {}}
    answer = run_hook("osls-plugin-log-groups.js", "before:aws:package:finalize:saveServiceState", config)
    assert answer["code"] == "LOG_GROUP_POLICY"
