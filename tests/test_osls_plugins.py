"""The local osls plugins (scripts/osls-plugin-*.js), driven by node with a stand-in for the framework's objects."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from local.serverless_files import ROOT

DRIVER = """
const [pluginPath, hook, config] = [process.argv[1], process.argv[2], JSON.parse(process.argv[3])];
class FrameworkError extends Error { constructor(message, code) { super(message); this.code = code; } }
const serverless = {
  classes: { Error: FrameworkError },
  getProvider: () => ({
    getStage: () => config.stage,
    naming: { getLambdaLogicalId: (name) => `${name[0].toUpperCase()}${name.slice(1)}LambdaFunction` },
  }),
  service: {
    custom: config.custom,
    stepFunctions: config.stepFunctions,
    functions: config.functions,
    provider: { compiledCloudFormationTemplate: { Resources: config.resources } },
  },
};
const Plugin = require(pluginPath);
try {
  new Plugin(serverless, {}, { log: { info() {} } }).hooks[hook]();
  const { resources, stepFunctions, functions } = config;
  console.log(JSON.stringify({ resources, stepFunctions, functions }));
} catch (error) {
  console.log(JSON.stringify({ error: error.message, code: error.code }));
}
"""


# The framework's hook the template-editing plugins (alarms, log groups, default role, API stage) run in.
TEMPLATE_COMPLETE_HOOK = "before:aws:package:finalize:saveServiceState"


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
    answer = run_hook("osls-plugin-log-groups.js", TEMPLATE_COMPLETE_HOOK, config)
    done = answer["resources"]
    for name in ("ApiLogGroup", "WorkflowLogGroup"):
        assert (done[name]["DeletionPolicy"], done[name]["UpdateReplacePolicy"]) == (policy, policy)
    assert "DeletionPolicy" not in done["Queue"]


def test_a_log_group_policy_other_than_delete_or_retain_is_refused():
    config = {"stage": "dev", "custom": {"logGroupDeletionPolicy": "Snapshot"}, "resources": {}}
    answer = run_hook("osls-plugin-log-groups.js", TEMPLATE_COMPLETE_HOOK, config)
    assert answer["code"] == "LOG_GROUP_POLICY"


TOPIC = "arn:aws:sns:us-east-1:000000000000:alarms"


def _function(name: str) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": name}}


def test_every_function_gets_an_errors_and_a_throttles_alarm_and_the_api_a_5xx_rate_alarm():
    resources = {
        "ApiLambdaFunction": _function("svc-dev-api"),
        "WorkerLambdaFunction": _function("svc-dev-worker"),
        "ApiGatewayRestApi": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "dev-svc"}},
    }
    config = {"stage": "dev", "custom": {"alarms": {"topic": TOPIC}}, "resources": resources}
    done = run_hook("osls-plugin-alarms.js", TEMPLATE_COMPLETE_HOOK, config)["resources"]
    for function in ("Api", "Worker"):
        for metric in ("Errors", "Throttles"):
            alarm = done[f"{function}{metric}Alarm"]["Properties"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": f"{function}LambdaFunction"}}]
    rate = done["ApiGateway5xxRateAlarm"]["Properties"]
    assert rate["Dimensions"] == [{"Name": "ApiName", "Value": "dev-svc"}, {"Name": "Stage", "Value": "dev"}]
    assert len([r for r in done.values() if r["Type"] == "AWS::CloudWatch::Alarm"]) == 5


def test_every_alarm_without_actions_of_its_own_notifies_the_topic():
    own_action = {"AlarmActions": ["arn:aws:sns:us-east-1:000000000000:elsewhere"]}
    resources = {
        "QueueAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "Age"}},
        "RoutedAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": dict(own_action)},
    }
    config = {"stage": "dev", "custom": {"alarms": {"topic": TOPIC}}, "resources": resources}
    done = run_hook("osls-plugin-alarms.js", TEMPLATE_COMPLETE_HOOK, config)["resources"]
    assert done["QueueAlarm"]["Properties"]["AlarmActions"] == [TOPIC]
    assert done["QueueAlarm"]["Properties"]["OKActions"] == [TOPIC]
    assert done["RoutedAlarm"]["Properties"] == own_action


def test_alarms_without_a_topic_are_refused():
    config = {"stage": "dev", "custom": {"alarms": {"topic": ""}}, "resources": {"FLambdaFunction": _function("f")}}
    assert run_hook("osls-plugin-alarms.js", TEMPLATE_COMPLETE_HOOK, config)["code"] == "ALARMS"


NOBODY_LISTENS = {"listenerRequiredIn": ["prod"], "givenTopic": "", "email": ""}


def test_prod_refuses_an_alarm_topic_nobody_listens_to_and_names_both_params():
    config = {"stage": "prod", "custom": {"alarms": {"topic": TOPIC, **NOBODY_LISTENS}}, "resources": {}}
    answer = run_hook("osls-plugin-alarms.js", TEMPLATE_COMPLETE_HOOK, config)
    assert answer["code"] == "ALARMS_NOBODY_LISTENS"
    assert '--param="alarmEmail=' in answer["error"] and '--param="alarmTopicArn=' in answer["error"]


@pytest.mark.parametrize(
    ("stage", "listener"),
    [("prod", {"email": "oncall@example.com"}), ("prod", {"givenTopic": TOPIC}), ("dev", {})],
)
def test_a_stage_with_a_listener_or_without_the_rule_packages(stage, listener):
    alarms = {"topic": TOPIC, **NOBODY_LISTENS, **listener}
    config = {"stage": stage, "custom": {"alarms": alarms}, "resources": {"FLambdaFunction": _function("f")}}
    assert "error" not in run_hook("osls-plugin-alarms.js", TEMPLATE_COMPLETE_HOOK, config)


def test_auth_requires_a_listener_in_prod_from_its_params():
    from local.serverless_files import serverless_config

    alarms = serverless_config("auth")["custom"]["alarms"]
    assert alarms["listenerRequiredIn"] == ["prod"]
    assert (alarms["givenTopic"], alarms["email"]) == ("${param:alarmTopicArn}", "${param:alarmEmail}")


DEFAULT_ROLE = {"Type": "AWS::IAM::Role", "Properties": {"Policies": []}}


def test_the_frameworks_default_role_goes_when_every_function_has_its_own():
    resources = {
        "IamRoleLambdaExecution": DEFAULT_ROLE,
        "ApiIamRoleLambdaExecution": DEFAULT_ROLE,
        "ApiLambdaFunction": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Role": {"Fn::GetAtt": ["ApiIamRoleLambdaExecution", "Arn"]}},
        },
    }
    config = {"stage": "dev", "custom": {}, "resources": resources}
    done = run_hook("osls-plugin-default-role.js", TEMPLATE_COMPLETE_HOOK, config)["resources"]
    assert set(done) == {"ApiIamRoleLambdaExecution", "ApiLambdaFunction"}


@pytest.mark.parametrize(
    "role", [{"Fn::GetAtt": ["IamRoleLambdaExecution", "Arn"]}, {"Fn::Sub": "${IamRoleLambdaExecution.Arn}"}]
)
def test_the_default_role_stays_while_a_function_uses_it(role):
    resources = {
        "IamRoleLambdaExecution": DEFAULT_ROLE,
        "ApiLambdaFunction": {"Type": "AWS::Lambda::Function", "Properties": {"Role": role}},
    }
    config = {"stage": "dev", "custom": {}, "resources": resources}
    done = run_hook("osls-plugin-default-role.js", TEMPLATE_COMPLETE_HOOK, config)["resources"]
    assert "IamRoleLambdaExecution" in done


PYTHON_DRIVER = """
const { runPython } = require(process.argv[1]);
class FrameworkError extends Error { constructor(message, code) { super(message); this.code = code; } }
const serverless = {
  classes: { Error: FrameworkError },
  service: {
    provider: { runtime: 'python-not-on-this-machine' },  // only pythonBin can make the step run
    custom: { pythonRequirements: { pythonBin: process.argv[2] } },
  },
};
try {
  console.log(JSON.stringify({ stdout: runPython(serverless, ['-c', process.argv[3]], 'Step failed', 'STEP') }));
} catch (error) {
  console.log(JSON.stringify({ error: error.message, code: error.code }));
}
"""


def run_python_step(script: str) -> dict[str, Any]:
    support = str(ROOT / "scripts" / "osls-plugin-support.js")
    result = subprocess.run(
        ["node", "-e", PYTHON_DRIVER, support, sys.executable, script], capture_output=True, text=True, check=True
    )
    return dict(json.loads(result.stdout))


def test_a_python_step_runs_with_pythonbin_and_returns_what_it_printed():
    assert run_python_step("print('2 zips')") == {"stdout": "2 zips\n"}


def test_a_failing_python_step_fails_the_package_with_what_it_said():
    answer = run_python_step("import sys; print('no wheel for aarch64'); sys.exit(3)")
    assert answer == {"error": "Step failed: no wheel for aarch64", "code": "STEP"}


def _workflow(machine_type: str, budget: dict[str, int]) -> dict[str, Any]:
    task = {"Type": "Task", "Resource": {"Fn::GetAtt": ["ResizeLambdaFunction", "Arn"]}, "TimeoutSeconds": 150}
    return {
        "custom": {"expressBudget": budget},
        "stepFunctions": {
            "stateMachines": {
                "imageWorkflow": {
                    "type": machine_type,
                    "definition": {"TimeoutSeconds": 1200, "States": {"Resize": task, "Done": {"Type": "Succeed"}}},
                }
            }
        },
        "functions": {"resize": {"timeout": 120}},
    }


EXPRESS_BUDGET = {"workflowTimeoutSeconds": 300, "taskTimeoutSeconds": 75, "functionTimeoutSeconds": 60}


def test_express_budget_shortens_an_express_run_its_tasks_and_their_functions():
    answer = run_hook("osls-plugin-express-budget.js", "after:package:initialize", _workflow("EXPRESS", EXPRESS_BUDGET))
    machine = answer["stepFunctions"]["stateMachines"]["imageWorkflow"]["definition"]
    assert machine["TimeoutSeconds"] == 300
    assert machine["States"]["Resize"]["TimeoutSeconds"] == 75
    assert answer["functions"]["resize"]["timeout"] == 60


def test_express_budget_leaves_a_standard_run_as_written():
    answer = run_hook(
        "osls-plugin-express-budget.js", "after:package:initialize", _workflow("STANDARD", EXPRESS_BUDGET)
    )
    assert answer["stepFunctions"]["stateMachines"]["imageWorkflow"]["definition"]["TimeoutSeconds"] == 1200
    assert answer["functions"]["resize"]["timeout"] == 120


def test_an_express_budget_over_five_minutes_fails_the_package_with_the_framework_error():
    budget = {**EXPRESS_BUDGET, "workflowTimeoutSeconds": 301}
    answer = run_hook("osls-plugin-express-budget.js", "after:package:initialize", _workflow("EXPRESS", budget))
    assert answer["code"] == "EXPRESS_BUDGET"
    assert "300 s" in answer["error"]


def test_a_versioned_logical_id_is_renamed_with_every_reference_to_it():
    resources = {
        "Key": {"Type": "AWS::CloudFront::PublicKey", "Properties": {}},
        "Group": {"Type": "AWS::CloudFront::KeyGroup", "Properties": {"Items": [{"Ref": "Key"}]}},
        "Other": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Value": {"Fn::Sub": "${Key}/${Key.Id}/${KeyGroup}"},
                "Tags": {"a": {"Fn::GetAtt": ["Key", "Id"]}, "b": {"Fn::GetAtt": "Key.Id"}, "c": {"Ref": "Keys"}},
            },
        },
    }
    config = {"stage": "dev", "custom": {"versionedLogicalIds": {"Key": "3"}}, "resources": resources}
    done = run_hook("osls-plugin-versioned-ids.js", TEMPLATE_COMPLETE_HOOK, config)["resources"]
    assert set(done) == {"KeyV3", "Group", "Other"}
    assert done["Group"]["Properties"]["Items"] == [{"Ref": "KeyV3"}]
    properties = done["Other"]["Properties"]
    # Only references to Key itself change: ${KeyGroup} and a Ref to "Keys" are other names
    assert properties["Value"] == {"Fn::Sub": "${KeyV3}/${KeyV3.Id}/${KeyGroup}"}
    assert properties["Tags"] == {
        "a": {"Fn::GetAtt": ["KeyV3", "Id"]},
        "b": {"Fn::GetAtt": "KeyV3.Id"},
        "c": {"Ref": "Keys"},
    }


@pytest.mark.parametrize(
    ("versions", "problem"), [({"Key": "1.2"}, "letters and digits"), ({"Nope": "1"}, "no resource")]
)
def test_a_version_that_cannot_name_a_resource_is_refused(versions, problem):
    config = {"stage": "dev", "custom": {"versionedLogicalIds": versions}, "resources": {"Key": {"Type": "X"}}}
    answer = run_hook("osls-plugin-versioned-ids.js", TEMPLATE_COMPLETE_HOOK, config)
    assert answer["code"] == "VERSIONED_ID" and problem in answer["error"]
