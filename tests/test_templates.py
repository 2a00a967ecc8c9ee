"""Security and operations properties of the CloudFormation templates that `osls package` generates.

The templates are the deployed truth (framework defaults, plugins and our resources together), so the checks run on
them rather than on serverless.yml. Missing or stale templates are packaged first (offline, a few seconds each).
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.lambda_runtime import function_logical_id
from local.serverless_files import (
    ROOT,
    compose,
    load_yaml,
    param_default,
    serverless_config,
    service_dir,
    service_names,
    shared_fragments,
)
from local.stack import Resource, Stack, printed_config

# The framework's own deployment bucket holds only the packaged zips; it is AES256 with a TLS-only policy by default.
FRAMEWORK_BUCKET = "ServerlessDeploymentBucket"
# Actions AWS only authorises on resource "*" (no resource-level permissions): X-Ray segments and sampling, and the
# CloudWatch Logs delivery APIs Step Functions logging needs. None of them touches platform data.
WILDCARD_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


def _template_path(name: str, package_dir: str = ".serverless") -> Path:
    return service_dir(name) / package_dir / "cloudformation-template-update-stack.json"


def _is_stale(name: str, package_dir: str = ".serverless") -> bool:
    template = _template_path(name, package_dir)
    if not template.exists():
        return True
    sources = [p for p in service_dir(name).iterdir() if p.is_file() and p.suffix in {".yml", ".yaml", ".txt"}]
    sources += shared_fragments()
    sources += (ROOT / "scripts").glob("osls-plugin-*.js")  # the local plugins shape the template too
    return any(source.stat().st_mtime > template.stat().st_mtime for source in sources)


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    # Each pytest-xdist worker builds this fixture: the lock keeps two of them from packaging one service at once.
    with (ROOT / ".serverless-package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stale = [name for name in service_names() if _is_stale(name)]
        if stale:
            subprocess.run([sys.executable, str(ROOT / "scripts" / "package_services.py"), *stale], check=True)
    return {name: json.loads(_template_path(name).read_text()) for name in service_names()}


EXPRESS_PACKAGE_DIR = ".serverless-express"  # processing packaged with workflowType EXPRESS (prod's choice)


def packaged_variant(name: str, package_dir: str, param: str) -> dict[str, Any]:
    """The template of service `name` packaged with one stage param set (`param`: "name=value") into `package_dir`,
    beside its default package; packaged again only when stale."""
    with (ROOT / ".serverless-package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_stale(name, package_dir):
            script = ROOT / "scripts" / "package_services.py"
            variant = ["--param", param, "--package-dir", package_dir]
            subprocess.run([sys.executable, str(script), name, *variant], check=True)
    return dict(json.loads(_template_path(name, package_dir).read_text()))


@pytest.fixture(scope="module")
def express_template() -> dict[str, Any]:
    return packaged_variant("processing", EXPRESS_PACKAGE_DIR, "workflowType=EXPRESS")


def _resources(templates: dict[str, dict[str, Any]], resource_type: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (service, logical_id, resource.get("Properties", {}))
        for service, template in templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    ]


def _platform_key_reference(value: Any) -> bool:
    """A reference to the platform key: the upload stack's own key, or the kmsKeyArn param (a placeholder ARN)."""
    text = json.dumps(value)
    return "PlatformKey" in text or ":kms:" in text


def test_every_data_bucket_is_kms_encrypted_with_bucket_key_private_and_tls_only(templates):
    buckets = [b for b in _resources(templates, "AWS::S3::Bucket") if b[1] != FRAMEWORK_BUCKET]
    assert {service for service, _, _ in buckets} == {"upload", "processing"}
    policies = _resources(templates, "AWS::S3::BucketPolicy")
    for service, logical_id, properties in buckets:
        rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", logical_id
        assert _platform_key_reference(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]), logical_id
        assert rule["BucketKeyEnabled"] is True, logical_id
        block = properties["PublicAccessBlockConfiguration"]
        assert all(
            block[k] is True
            for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        )
        policy = next(
            p for s, _, p in policies if s == service and json.dumps(p["Bucket"]) == json.dumps({"Ref": logical_id})
        )
        denies_plain_http = [
            statement
            for statement in policy["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(statement.get("Condition", {}))
        ]
        assert denies_plain_http, f"{logical_id} has no TLS-only policy"
        rules = properties["LifecycleConfiguration"]["Rules"]
        assert any("AbortIncompleteMultipartUpload" in r for r in rules), logical_id


def test_every_queue_and_table_is_encrypted_with_the_platform_key_and_every_queue_has_a_dead_letter_path(templates):
    queues = _resources(templates, "AWS::SQS::Queue")
    for _, logical_id, properties in queues:
        assert _platform_key_reference(properties["KmsMasterKeyId"]), logical_id
    # Every queue either has a dead-letter queue or is one (a redrive target, or a function's on-failure destination)
    dead_letter = {
        q[2]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for q in queues if "RedrivePolicy" in q[2]
    }
    dead_letter |= {
        config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for _, _, config in _resources(templates, "AWS::Lambda::EventInvokeConfig")
    }
    for _, logical_id, properties in queues:
        assert "RedrivePolicy" in properties or logical_id in dead_letter, logical_id
    assert {logical_id for _, logical_id, _ in queues} >= {"IngestQueue", "IngestDlq", "ReconcilerFailures"}
    for _, _, properties in _resources(templates, "AWS::DynamoDB::Table"):
        assert properties["SSESpecification"]["SSEEnabled"] is True
        assert properties["SSESpecification"]["SSEType"] == "KMS"
        assert _platform_key_reference(properties["SSESpecification"]["KMSMasterKeyId"])
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_the_platform_key_and_the_alarm_topic_key_rotate(templates):
    keys = _resources(templates, "AWS::KMS::Key")
    assert {(service, logical_id) for service, logical_id, _ in keys} == {
        ("upload", "PlatformKey"),
        ("auth", "AlarmTopicKey"),
    }
    assert all(properties["EnableKeyRotation"] is True for _, _, properties in keys)


def test_no_iam_statement_grants_wildcard_actions_or_wildcard_data_resources(templates):
    for service, logical_id, properties in _resources(templates, "AWS::IAM::Role"):
        for policy in properties.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = statement.get("Resource", [])
                resources = resources if isinstance(resources, list) else [resources]
                for action in actions:
                    assert action != "*" and not str(action).endswith(":*"), f"{service}/{logical_id}: {action}"
                if "*" in resources:
                    assert set(actions) <= WILDCARD_RESOURCE_ACTIONS, f"{service}/{logical_id}: {actions} on *"


def test_every_function_has_its_own_role_and_active_tracing(templates):
    for service, logical_id, properties in _resources(templates, "AWS::Lambda::Function"):
        assert properties["TracingConfig"] == {"Mode": "Active"}, f"{service}/{logical_id}"
        role = json.dumps(properties["Role"])
        assert "IamRoleLambdaExecution" in role and f'"{"IamRoleLambdaExecution"}"' not in role, logical_id
        assert properties["Runtime"] == "python3.12"
        assert properties["Architectures"] == ["arm64"]


def test_api_stages_and_the_state_machine_are_traced(templates):
    # The stage resource (scripts/osls-plugin-api-stage.js) traces; the framework's own after-deploy stage update
    # stays off, so nothing changes the stage behind the template's back.
    for service in ("auth", "upload", "retrieval"):
        assert serverless_config(service)["provider"]["tracing"] == {"lambda": True}, service
        assert templates[service]["Resources"]["ApiGatewayStage"]["Properties"]["TracingEnabled"] is True
    machines = _resources(templates, "AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    assert machines[0][2]["TracingConfiguration"] == {"Enabled": True}


def test_alarms_watch_the_dead_letter_queue_and_workflow_failures(templates):
    alarms = {
        properties["MetricName"]: properties for _, _, properties in _resources(templates, "AWS::CloudWatch::Alarm")
    }
    assert alarms["ApproximateNumberOfMessagesVisible"]["Namespace"] == "AWS/SQS"
    assert alarms["ExecutionsFailed"]["Namespace"] == "AWS/States"


ALARM_TOPIC_CHOICE = {"Fn::If": ["CreatesAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
# CloudWatch acting for this account's alarms, and no one else's (the confused-deputy guard)
ALARM_PUBLISHERS = {
    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    "ArnLike": {
        "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}
    },
}


def test_auth_creates_an_encrypted_alarm_topic_only_when_the_stage_names_none(templates):
    template = templates["auth"]
    resources = template["Resources"]
    assert param_default("auth", "alarmTopicArn") == ""
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert template["Conditions"]["CreatesAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    for logical_id in ("AlarmTopic", "AlarmTopicKey", "AlarmTopicKeyAlias", "AlarmTopicPolicy"):
        assert resources[logical_id]["Condition"] == "CreatesAlarmTopic", logical_id
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    # The others take the created topic, or the one given, from this output (compose: alarmTopicArn)
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == ALARM_TOPIC_CHOICE


def test_only_this_accounts_cloudwatch_alarms_may_use_the_alarm_topic_and_its_key(templates):
    resources = templates["auth"]["Resources"]
    statements = resources["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    services = [s for s in statements if "Service" in s["Principal"]]
    assert [s["Principal"]["Service"] for s in services] == ["cloudwatch.amazonaws.com"]
    # Without these CloudWatch cannot publish to an encrypted topic (why the AWS managed aws/sns key will not do)
    assert set(services[0]["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert services[0]["Condition"] == ALARM_PUBLISHERS
    policy = resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    publish = _statement(policy, "CloudWatchAlarmsPublish")
    assert (publish["Principal"], publish["Action"]) == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")
    assert publish["Condition"] == ALARM_PUBLISHERS
    assert _statement(policy, "DenyInsecureTransport")["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_alarm_email_is_subscribed_to_the_created_topic_only_when_given(templates):
    template = templates["auth"]
    assert param_default("auth", "alarmEmail") == ""
    assert template["Conditions"]["SubscribesAlarmEmail"] == {
        "Fn::And": [{"Condition": "CreatesAlarmTopic"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}]
    }
    subscriptions = [s for s in template["Resources"].values() if s["Type"] == "AWS::SNS::Subscription"]
    assert subscriptions == [template["Resources"]["AlarmEmailSubscription"]]
    subscription = subscriptions[0]
    assert subscription["Condition"] == "SubscribesAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_every_function_has_an_errors_and_a_throttles_alarm(templates):
    functions = _resources(templates, "AWS::Lambda::Function")
    assert {service for service, _, _ in functions} == {"auth", "upload", "processing", "retrieval"}
    for service, logical_id, _ in functions:
        watched = {
            alarm["MetricName"]
            for alarm in _alarms(templates[service]).values()
            if alarm["Namespace"] == "AWS/Lambda"
            and alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]
        }
        assert watched == {"Errors", "Throttles"}, f"{service}/{logical_id}"


@pytest.mark.parametrize("service", ["auth", "upload", "retrieval"])
def test_every_api_alarms_on_its_5xx_rate(templates, service):
    template = templates[service]
    api_name = template["Resources"]["ApiGatewayRestApi"]["Properties"]["Name"]
    stage = template["Resources"]["ApiGatewayStage"]["Properties"]["StageName"]
    rates = [a for a in _alarms(template).values() if a["MetricName"] == "5XXError"]
    assert len(rates) == 1
    # The average of 5XXError is the share of requests answered 5xx
    assert (rates[0]["Namespace"], rates[0]["Statistic"]) == ("AWS/ApiGateway", "Average")
    assert rates[0]["Dimensions"] == [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": stage}]
    assert 0 < rates[0]["Threshold"] < 1


def test_alarms_watch_the_ingest_queues_oldest_message_and_timed_out_runs(templates):
    upload = templates["upload"]["Resources"]
    age = _alarms(templates["upload"])["IngestQueueAgeAlarm"]
    assert (age["Namespace"], age["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert age["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["IngestQueue", "QueueName"]}}]
    # Past what one crashed batch costs (the visibility timeout): a stalled consumer, not a retry
    assert age["Threshold"] > upload["IngestQueue"]["Properties"]["VisibilityTimeout"]
    timeouts = [a for a in _alarms(templates["processing"]).values() if a["MetricName"] == "ExecutionsTimedOut"]
    assert len(timeouts) == 1
    assert timeouts[0]["Namespace"] == "AWS/States"
    assert timeouts[0]["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "ImageWorkflow"}}]
    assert "ReconcilerErrorsAlarm" in _alarms(templates["processing"])


def test_every_alarm_notifies_the_platforms_alarm_topic_when_it_fires_and_when_it_clears(templates):
    topics = {"auth": ALARM_TOPIC_CHOICE}
    for service, service_config in compose()["services"].items():
        if service != "auth" and _alarms(templates[service]):
            # Compose hands auth's topic to every other service with alarms
            assert (service_config.get("params") or {}).get("alarmTopicArn") == "${auth.AlarmTopicArn}", service
            topics[service] = _wired_placeholders(service)["alarmTopicArn"]
    assert set(topics) == {"auth", "upload", "processing", "retrieval"}
    for service, topic in topics.items():
        for logical_id, alarm in _alarms(templates[service]).items():
            assert alarm["AlarmActions"] == [topic], f"{service}/{logical_id}"
            assert alarm["OKActions"] == [topic], f"{service}/{logical_id}"
            assert alarm["TreatMissingData"] == "notBreaching", f"{service}/{logical_id}"


def _policy_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def test_no_service_keeps_a_role_nothing_uses(templates):
    for service, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            others = {k: v for k, v in template["Resources"].items() if k != logical_id}
            assert re.search(rf'"{logical_id}"|\${{{logical_id}\.', json.dumps(others)), f"{service}/{logical_id}"
        assert "IamRoleLambdaExecution" not in template["Resources"], service


def test_only_the_orchestrators_role_may_receive_and_delete_from_the_ingest_queue(templates):
    consumers = set()
    for service, logical_id, _ in _resources(templates, "AWS::IAM::Role"):
        role = templates[service]["Resources"][logical_id]
        for statement in _policy_statements(role):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if {"sqs:ReceiveMessage", "sqs:DeleteMessage"} & set(actions):
                consumers.add((service, logical_id))
                assert statement["Resource"] == [_wired_placeholders("processing")["ingestQueueArn"]]
    assert consumers == {("processing", "OrchestratorIamRoleLambdaExecution")}


def test_every_non_auth_route_uses_the_cognito_authorizer(templates):
    for service in ("upload", "retrieval"):
        methods = [
            p
            for s, _, p in _resources(templates, "AWS::ApiGateway::Method")
            if s == service and p["HttpMethod"] != "OPTIONS"
        ]
        assert methods, service
        for method in methods:
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS", method
    authorizers = _resources(templates, "AWS::ApiGateway::Authorizer")
    assert {s for s, _, _ in authorizers} == {"upload", "retrieval"}
    for _, _, properties in authorizers:
        assert properties["Type"] == "COGNITO_USER_POOLS"
        assert properties["IdentitySource"] == "method.request.header.Authorization"


def test_the_user_pool_hides_whether_users_exist(templates):
    ((_, _, client),) = _resources(templates, "AWS::Cognito::UserPoolClient")
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    ((_, _, pool),) = _resources(templates, "AWS::Cognito::UserPool")
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12


def test_a_stage_can_put_every_function_in_a_vpc_with_gateway_endpoints():
    from local.stack import printed_config

    placeholders = _wired_placeholders("upload")
    vpc = {
        "vpcMode": "private",
        "vpcSubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
        "vpcSecurityGroupIds": "sg-0123456789abcdef0",
        "vpcId": "vpc-0123456789abcdef0",
        "vpcRouteTableIds": "rtb-0123456789abcdef0",
    }
    without = printed_config("upload", "dev", placeholders)
    assert not without["provider"].get("vpc")
    within = printed_config("upload", "dev", {**placeholders, **vpc})
    assert within["provider"]["vpc"]["subnetIds"] == {"Fn::Split": [",", vpc["vpcSubnetIds"]]}
    assert within["provider"]["vpc"]["securityGroupIds"] == {"Fn::Split": [",", vpc["vpcSecurityGroupIds"]]}
    endpoints = {
        logical_id: resource
        for logical_id, resource in within["resources"]["Resources"].items()
        if resource["Type"] == "AWS::EC2::VPCEndpoint"
    }
    assert {r["Properties"]["VpcEndpointType"] for r in endpoints.values()} == {"Gateway"}
    assert {r["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1] for r in endpoints.values()} == {
        "s3",
        "dynamodb",
    }
    assert all(r["Condition"] == "CreateGatewayEndpoints" for r in endpoints.values())


def _placeholder_outputs() -> dict[str, str]:
    """The packaging placeholders (scripts/package_services.py): the only account ids and ARNs a template may hold."""
    return dict(_package_services_module().PLACEHOLDER_OUTPUTS)


def _package_services_module() -> Any:
    spec = importlib.util.spec_from_file_location("package_services", ROOT / "scripts" / "package_services.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wired_placeholders(service: str) -> dict[str, str]:
    outputs = _placeholder_outputs()
    wired = compose()["services"][service].get("params") or {}
    return {param: outputs[str(reference).strip("${}").split(".", 1)[1]] for param, reference in wired.items()}


def test_no_account_id_region_or_arn_is_hard_coded(templates):
    for service, template in templates.items():
        text = json.dumps(template)
        for placeholder in sorted(_placeholder_outputs().values(), key=len, reverse=True):
            text = text.replace(placeholder, "<param>")
        assert not re.findall(r"\b\d{12}\b", text), f"{service}: an account id in the template"
        assert not re.findall(r"arn:aws[a-z-]*:", text), f"{service}: a literal ARN (use ${{AWS::Partition}}, a param)"
        assert not re.findall(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b", text), f"{service}: a literal region"


def test_every_function_has_a_deliberate_memory_size_timeout_and_log_retention(templates):
    for service in service_names():
        config = serverless_config(service)
        if not config.get("functions"):
            continue
        text = (service_dir(service) / "serverless.yml").read_text()
        retention = config["params"]["default"]["logRetentionDays"]
        resources = templates[service]["Resources"]
        for name, function in config["functions"].items():
            assert {"memorySize", "timeout"} <= set(function), f"{service}.{name}: set memorySize and timeout"
            block = re.search(rf"^  {name}:\n(.*?)(?=^  \S|\Z)", text, re.M | re.S)
            lines = block.group(1).splitlines() if block else []
            at = next(i for i, line in enumerate(lines) if line.strip().startswith("memorySize:"))
            assert any("#" in line for line in lines[max(0, at - 3) : at + 2]), (
                f"{service}.{name}: say next to memorySize why this memory size and timeout (a comment)"
            )
            properties = resources[function_logical_id(name)]["Properties"]
            assert properties["MemorySize"] == function["memorySize"] and properties["Timeout"] == function["timeout"]
            log_group = resources[function_logical_id(name).replace("LambdaFunction", "LogGroup")]["Properties"]
            assert log_group["RetentionInDays"] == retention, f"{service}.{name}: log retention"
            if any("http" in event for event in function.get("events") or []):
                assert function["timeout"] <= 29, f"{service}.{name}: API Gateway gives up after 29 s"


def test_the_ingest_queue_outlasts_the_orchestrator_and_the_workflow_logs_are_kept_like_the_functions(templates):
    orchestrator = serverless_config("processing")["functions"]["orchestrator"]
    queue = serverless_config("upload")["resources"]["Resources"]["IngestQueue"]["Properties"]
    # AWS's advice for SQS event sources: a visibility timeout of 6x the function's timeout; at least that, so a
    # batch in flight is not delivered twice, and not much more, so a crashed orchestrator delays its images by
    # minutes, not a quarter of an hour
    assert 6 * orchestrator["timeout"] <= queue["VisibilityTimeout"] <= 10 * orchestrator["timeout"]
    assert queue["VisibilityTimeout"] <= 300
    workflow_logs = templates["processing"]["Resources"]["WorkflowLogGroup"]["Properties"]
    assert workflow_logs["RetentionInDays"] == serverless_config("processing")["params"]["default"]["logRetentionDays"]


def test_processing_reserves_concurrency_for_the_orchestrator_and_the_image_steps_unless_a_stage_opts_out(templates):
    template = templates["processing"]
    reserved_by = {"orchestrator": "OrchestratorConcurrency"} | dict.fromkeys(
        ("validate", "resize", "watermark"), "ImageStepsConcurrency"
    )
    for function, parameter in reserved_by.items():
        reserved = template["Resources"][function_logical_id(function)]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved == {"Fn::If": ["ReservesConcurrency", {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}, function
        assert int(template["Parameters"][parameter]["Default"]) > 0, f"{function}: a bound by default"
    # One switch for accounts whose concurrency limit leaves nothing to reserve; on by default
    assert template["Conditions"]["ReservesConcurrency"] == {"Fn::Equals": [{"Ref": "ReserveConcurrency"}, "true"]}
    assert template["Parameters"]["ReserveConcurrency"]["Default"] == "true"


def test_the_ingest_queue_hands_out_no_more_batches_than_orchestrators_may_run(templates):
    # A burst must wait in the queue, not be throttled: a throttled batch counts as a receive and can push valid
    # uploads to the DLQ. The event source's cap is the very number the orchestrator reserves.
    template = templates["processing"]
    (mapping,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    orchestrator_concurrency = int(template["Parameters"]["OrchestratorConcurrency"]["Default"])
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": orchestrator_concurrency}
    params = serverless_config("processing")["params"]
    assert all(
        "orchestratorConcurrency" not in stage or stage["orchestratorConcurrency"] >= 2 for stage in params.values()
    )


def test_the_reconciler_keeps_its_failed_invocations_in_an_alarmed_queue(templates):
    resources = templates["processing"]["Resources"]
    config = resources["ReconcilerInvokeConfig"]["Properties"]
    assert config["FunctionName"] == {"Ref": function_logical_id("reconciler")}
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["ReconcilerFailures", "Arn"]}
    assert resources["ReconcilerFailures"]["Properties"]["KmsMasterKeyId"]
    alarm = resources["ReconcilerFailuresAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ReconcilerFailures", "QueueName"]}}]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    # The reconciler's own role may send there (Lambda sends with it), and nowhere else
    role = resources[function_logical_id("reconciler").replace("LambdaFunction", "IamRoleLambdaExecution")]
    sends = [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in statement["Action"]
    ]
    assert [statement["Resource"] for statement in sends] == [{"Fn::GetAtt": ["ReconcilerFailures", "Arn"]}]


def test_prod_keeps_the_data_on_stack_removal_and_dev_does_not():
    data = {"upload": ["PlatformKey", "OriginalsBucket", "ImagesTable"], "processing": ["RenditionsBucket"]}
    data["auth"] = ["UserPool"]
    for stage, policy in (("dev", "Delete"), ("prod", "Retain")):
        for service, logical_ids in data.items():
            resources = printed_config(service, stage, _wired_placeholders(service))["resources"]["Resources"]
            for logical_id in logical_ids:
                resource = resources[logical_id]
                assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (policy, policy), (
                    f"{stage}: {service}.{logical_id}"
                )


def test_processing_rechecks_stored_originals_against_the_cap_upload_signs(templates):
    # The packaged templates (compose wiring as a deploy gets it): one cap, upload's param, in both services.
    cap = str(param_default("upload", "maxUploadBytes"))
    functions = [
        (service, logical_id, properties)
        for service, logical_id, properties in _resources(templates, "AWS::Lambda::Function")
        if "MAX_UPLOAD_BYTES" in properties.get("Environment", {}).get("Variables", {})
    ]
    assert {service for service, _, _ in functions} == {"upload", "processing"}
    for service, logical_id, properties in functions:
        assert str(properties["Environment"]["Variables"]["MAX_UPLOAD_BYTES"]) == cap, f"{service}/{logical_id}"


def test_only_the_event_publishers_may_put_events_and_only_on_the_platforms_bus(templates):
    # The bus is processing's EventBus; retrieval gets its ARN as the eventBusArn param (a placeholder when packaged).
    bus_arn_placeholder = _wired_placeholders("retrieval")["eventBusArn"]
    publishers = set()
    for service, logical_id, properties in _resources(templates, "AWS::IAM::Role"):
        for policy in properties.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if not any(str(action).startswith("events:") for action in actions):
                    continue
                assert actions == ["events:PutEvents"], f"{service}/{logical_id}: {actions}"
                resource = statement["Resource"]
                expected = {"Fn::GetAtt": ["EventBus", "Arn"]} if service == "processing" else bus_arn_placeholder
                assert resource in (expected, [expected]), f"{service}/{logical_id}: {resource}"
                publishers.add((service, logical_id))
    assert publishers == {
        ("processing", "PersistIamRoleLambdaExecution"),
        ("processing", "MarkRejectedIamRoleLambdaExecution"),
        ("processing", "MarkFailedIamRoleLambdaExecution"),
        ("processing", "ReconcilerIamRoleLambdaExecution"),
        ("retrieval", "DeleteImageIamRoleLambdaExecution"),
    }


def test_the_events_bus_is_exported_and_archived(templates):
    processing = templates["processing"]
    (bus_id,) = [logical_id for _, logical_id, _ in _resources(templates, "AWS::Events::EventBus")]
    assert processing["Outputs"]["EventBusArn"]["Value"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert processing["Outputs"]["EventBusName"]["Value"] == {"Ref": bus_id}
    (archive,) = [p for s, _, p in _resources(templates, "AWS::Events::Archive") if s == "processing"]
    assert archive["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert int(archive["RetentionDays"]) > 0


API_SERVICES = ("auth", "upload", "retrieval")
ACCESS_LOG_FIELDS = {"requestId", "ip", "sub", "method", "route", "status", "latencyMs", "responseType", "error"}


@pytest.mark.parametrize("service", API_SERVICES)
def test_every_api_stage_is_throttled_traced_and_writes_a_json_access_log(templates, service):
    resources = templates[service]["Resources"]
    (deployment,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Deployment"]
    assert "StageName" not in deployment["Properties"]  # the stage is a resource of its own, with these settings
    stage = resources["ApiGatewayStage"]["Properties"]
    assert stage["StageName"] == "dev" and stage["TracingEnabled"] is True
    # Every route is throttled by default, with the stage's params
    default = next(s for s in stage["MethodSettings"] if (s["HttpMethod"], s["ResourcePath"]) == ("*", "/*"))
    params = serverless_config(service)["params"]
    assert default["ThrottlingRateLimit"] == params["default"]["apiRateLimit"] > 0
    assert default["ThrottlingBurstLimit"] == params["default"]["apiBurstLimit"] > 0
    assert params["prod"]["apiRateLimit"] >= params["default"]["apiRateLimit"]
    # One JSON line per request, in a log group kept as long as the functions' logs
    access_log = stage["AccessLogSetting"]
    assert access_log["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert set(json.loads(access_log["Format"].replace("$context", "context"))) >= ACCESS_LOG_FIELDS
    log_group = resources["ApiAccessLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] == params["default"]["logRetentionDays"]


def test_the_public_routes_that_send_email_are_throttled_far_below_the_stage(templates):
    resources = templates["auth"]["Resources"]
    stage = resources["ApiGatewayStage"]["Properties"]
    default = next(s for s in stage["MethodSettings"] if s["ResourcePath"] == "/*")
    tighter = {s["ResourcePath"]: s for s in stage["MethodSettings"] if s["ResourcePath"] != "/*"}
    assert set(tighter) == {"/~1auth~1signup", "/~1auth~1resend-code", "/~1auth~1forgot-password"}
    route_paths = {
        "/" + r["Properties"]["PathPart"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Resource"
    }
    for path, setting in tighter.items():
        assert path.replace("~1", "/").removeprefix("/").removeprefix("/auth") in route_paths  # a real route
        assert setting["HttpMethod"] == "POST"
        assert setting["ThrottlingRateLimit"] * 10 <= default["ThrottlingRateLimit"]
        assert setting["ThrottlingBurstLimit"] * 10 <= default["ThrottlingBurstLimit"]
    # Access logs need the account's API Gateway logging role: auth (deployed first) sets it before its stage
    assert "ApiGatewayAccount" in resources["ApiGatewayStage"]["DependsOn"]
    role = resources["ApiGatewayLoggingRole"]["Properties"]
    assert [p["Fn::Sub"].rsplit("/", 1)[-1] for p in role["ManagedPolicyArns"]] == [
        "AmazonAPIGatewayPushToCloudWatchLogs"
    ]


@pytest.mark.parametrize("service", API_SERVICES)
def test_every_answer_the_gateway_makes_itself_carries_the_request_id(templates, service):
    responses = _resources({service: templates[service]}, "AWS::ApiGateway::GatewayResponse")
    assert {properties["ResponseType"] for _, _, properties in responses} >= {"DEFAULT_4XX", "DEFAULT_5XX"}
    for _, logical_id, properties in responses:
        body = properties["ResponseTemplates"]["application/json"]
        assert '"request_id": "$context.requestId"' in body, logical_id


@pytest.mark.parametrize("service", API_SERVICES)
def test_a_path_or_method_no_route_has_is_a_404_not_a_token_problem(templates, service):
    # Given the API's own answers (API Gateway calls an unknown route MISSING_AUTHENTICATION_TOKEN, 403 by default)
    responses = _resources({service: templates[service]}, "AWS::ApiGateway::GatewayResponse")
    (unknown_route,) = [props for _, _, props in responses if props["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"]
    # Then a caller with a valid token who asked for a route that does not exist is told so, in the platform's shape
    assert unknown_route["StatusCode"] == "404"
    error = json.loads(unknown_route["ResponseTemplates"]["application/json"])["error"]
    assert error["code"] == "not_found" and "route" in error["message"]


def test_an_id_token_outlives_a_sign_out_by_15_minutes_at_most(templates):
    # Sign-out cannot revoke an ID token (the APIs' Cognito authorizer checks only its signature and expiry), so the
    # tokens are short-lived and the clients refresh them; the README and the sign-out answer say exactly this
    (client,) = _resources({"auth": templates["auth"]}, "AWS::Cognito::UserPoolClient")
    properties = client[2]
    assert properties["TokenValidityUnits"]["IdToken"] == properties["TokenValidityUnits"]["AccessToken"] == "minutes"
    assert properties["IdTokenValidity"] <= 15 and properties["AccessTokenValidity"] <= 15
    readme = (ROOT / "README.md").read_text()
    assert "an ID token already issued keeps working until it expires" in readme


# --- delivery: CloudFront in front of the renditions bucket -------------------------------------------------------


def _delivery(templates: dict[str, dict[str, Any]], resource_type: str) -> dict[str, Any]:
    ((_, _, properties),) = [r for r in _resources(templates, resource_type) if r[0] == "delivery"]
    return properties


def test_the_distribution_reads_the_renditions_bucket_through_origin_access_control_only(templates):
    config = _delivery(templates, "AWS::CloudFront::Distribution")["DistributionConfig"]
    oac = _delivery(templates, "AWS::CloudFront::OriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    ((origin,),) = [config["Origins"]]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["RenditionsOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    # The REST endpoint of processing's bucket in the stack's region (the name is compose's param)
    assert origin["DomainName"] == {"Fn::Sub": "placeholder-renditions.s3.${AWS::Region}.${AWS::URLSuffix}"}
    assert config["HttpVersion"] == "http2and3" and config["IPV6Enabled"] is True
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["TrustedKeyGroups"] == [{"Ref": "SigningKeyGroup"}]  # signed URLs only
    assert behaviour["CachePolicyId"] == {"Ref": "RenditionsCachePolicy"}
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "RenditionsResponseHeadersPolicy"}


def test_the_cache_is_keyed_on_the_path_only_and_keeps_renditions_as_long_as_they_say(templates):
    config = _delivery(templates, "AWS::CloudFront::CachePolicy")["CachePolicyConfig"]
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    # The signed URL's query differs per window; the rendition behind a path never does
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert config["MaxTTL"] == 31536000  # a year, what processing's Cache-Control asks for


def test_the_key_group_trusts_exactly_the_operators_public_key(templates):
    public_key = _delivery(templates, "AWS::CloudFront::PublicKey")["PublicKeyConfig"]
    group = _delivery(templates, "AWS::CloudFront::KeyGroup")["KeyGroupConfig"]
    assert public_key["EncodedKey"].startswith("-----BEGIN PUBLIC KEY-----")  # the publicKey param (a placeholder)
    assert group["Items"] == [{"Ref": "SigningPublicKeyV1"}]
    outputs = templates["delivery"]["Outputs"]
    assert outputs["PublicKeyId"]["Value"] == {"Ref": "SigningPublicKeyV1"}


def test_a_new_signing_key_version_is_a_new_public_key_resource():
    # CloudFront changes only a public key's comment in place: rotating must make CloudFormation replace the key
    rotated = packaged_variant("delivery", ".serverless-key-v2", "signingKeyVersion=2")
    keys = [logical_id for _, logical_id, _ in _resources({"delivery": rotated}, "AWS::CloudFront::PublicKey")]
    assert keys == ["SigningPublicKeyV2"]
    group = rotated["Resources"]["SigningKeyGroup"]["Properties"]["KeyGroupConfig"]
    assert group["Items"] == [{"Ref": "SigningPublicKeyV2"}]
    assert rotated["Outputs"]["PublicKeyId"]["Value"] == {"Ref": "SigningPublicKeyV2"}


def test_the_distribution_sends_the_security_headers_the_local_cdn_sends(templates):
    from local.cdn import SECURITY_HEADERS

    config = _delivery(templates, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    hsts = security["StrictTransportSecurity"]
    sent = {
        "Strict-Transport-Security": f"max-age={hsts['AccessControlMaxAgeSec']}; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": security["FrameOptions"]["FrameOption"],
        "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
    }
    assert hsts["IncludeSubdomains"] and hsts["Preload"] and security["ContentTypeOptions"]["Override"]
    assert sent == SECURITY_HEADERS


def test_a_custom_domain_brings_its_certificate_and_a_modern_tls_floor(templates):
    config = _delivery(templates, "AWS::CloudFront::Distribution")["DistributionConfig"]
    condition, with_domain, without = config["ViewerCertificate"]["Fn::If"]
    assert condition == "HasCustomDomain"
    assert with_domain == {
        "AcmCertificateArn": {"Ref": "CertificateArn"},
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert without == {"CloudFrontDefaultCertificate": True}
    assert config["Aliases"]["Fn::If"] == ["HasCustomDomain", [{"Ref": "CustomDomainName"}], {"Ref": "AWS::NoValue"}]
    base_url = templates["delivery"]["Outputs"]["CdnBaseUrl"]["Value"]["Fn::If"]
    assert base_url[0] == "HasCustomDomain" and base_url[1] == {"Fn::Sub": "https://${CustomDomainName}"}


def _statement(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    return next(statement for statement in statements if statement.get("Sid") == sid)


def test_the_renditions_bucket_lets_only_this_accounts_cloudfront_read_renditions_and_still_requires_tls(templates):
    ((_, _, policy),) = [p for p in _resources(templates, "AWS::S3::BucketPolicy") if p[1] == "RenditionsBucketPolicy"]
    statements = policy["PolicyDocument"]["Statement"]
    read = _statement(statements, "CloudFrontReadsRenditions")
    assert read["Effect"] == "Allow" and read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"  # no listing, no writes
    assert read["Resource"] == {"Fn::Sub": "${RenditionsBucket.Arn}/renditions/*"}  # never work/ or config/
    source = read["Condition"]["ArnLike"]["AWS:SourceArn"]["Fn::Sub"]
    assert source == "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"  # cdnDistributionId
    assert _statement(statements, "DenyInsecureTransport")["Effect"] == "Deny"


def test_the_platform_key_lets_this_accounts_cloudfront_decrypt_and_nothing_more(templates):
    key = templates["upload"]["Resources"]["PlatformKey"]["Properties"]
    grant = _statement(key["KeyPolicy"]["Statement"], "CloudFrontDecryptsRenditions")
    assert grant["Principal"] == {"Service": "cloudfront.amazonaws.com"} and grant["Action"] == "kms:Decrypt"
    source = grant["Condition"]["ArnLike"]["AWS:SourceArn"]["Fn::Sub"]
    assert source == "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"


def test_a_stage_can_pin_the_grants_to_deliverys_distribution():
    pinned = {"cdnDistributionId": "E2QWRUHAPOMQZL"}
    processing = printed_config("processing", "dev", {**_wired_placeholders("processing"), **pinned})
    statements = processing["resources"]["Resources"]["RenditionsBucketPolicy"]["Properties"]["PolicyDocument"]
    source = _statement(statements["Statement"], "CloudFrontReadsRenditions")["Condition"]["ArnLike"]
    assert source["AWS:SourceArn"]["Fn::Sub"].endswith(":distribution/E2QWRUHAPOMQZL")


def test_retrieval_may_read_the_signing_key_only_when_it_signs_cloudfront_urls(templates):
    template = templates["retrieval"]
    policy = template["Resources"]["ReadCdnSigningKeyPolicy"]
    assert policy["Condition"] == "SignsCloudFrontUrls"
    assert template["Conditions"]["SignsCloudFrontUrls"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CdnPrivateKeyParameter"}, ""]}]
    }
    ((statement,),) = [policy["Properties"]["PolicyDocument"]["Statement"]]
    assert statement["Action"] == ["ssm:GetParameter"]
    assert statement["Resource"]["Fn::Sub"].endswith(":parameter${CdnPrivateKeyParameter}")
    # Only the two functions that sign URLs; deleteImage never sees the key
    roles = {role["Ref"] for role in policy["Properties"]["Roles"]}
    assert roles == {"GetImageIamRoleLambdaExecution", "ListImagesIamRoleLambdaExecution"}
    # Without delivery's params the parameter is empty, so the policy is not created
    alone = printed_config(
        "retrieval", "dev", {k: v for k, v in _wired_placeholders("retrieval").items() if "cdn" not in k}
    )
    assert alone["resources"]["Parameters"]["CdnPrivateKeyParameter"]["Default"] == ""


def test_prod_keeps_its_log_groups_on_stack_removal_and_dev_does_not(templates):
    for service in ("auth", "upload", "processing", "retrieval"):
        params = serverless_config(service)["params"]
        assert (params["default"]["logDeletionPolicy"], params["prod"]["logDeletionPolicy"]) == ("Delete", "Retain")
        log_groups = _resources({service: templates[service]}, "AWS::Logs::LogGroup")
        assert log_groups, service
        for _, logical_id, _ in log_groups:
            resource = templates[service]["Resources"][logical_id]
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Delete", logical_id


def test_functions_use_the_platform_key_only_through_the_service_that_holds_the_data(templates):
    # kms:ViaService on every KMS grant: a leaked role cannot decrypt anything with the key by calling KMS itself
    for service, logical_id, properties in _resources(templates, "AWS::IAM::Role"):
        for policy in properties.get("Policies") or []:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                if any(action.startswith("kms:") for action in actions):
                    assert "kms:Encrypt" not in actions, (service, logical_id)
                    via = json.dumps(statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService"))
                    assert any(f"{held}." in via for held in ("s3", "sqs", "dynamodb")), (service, logical_id)


# --- the edge: WAF web ACL, Cognito's e-mail and threat protection, per stage ------------------------------------

PLACEHOLDER_SES_IDENTITY = "arn:aws:ses:us-east-1:000000000000:identity/example.com"


def _as_deployed(config: dict[str, Any]) -> Stack:
    """A printed serverless.yml with its CloudFormation conditions decided by its parameters' defaults (the params
    the stage was printed with), as CloudFormation decides them at deploy time. A Ref to a resource reads as its
    logical id."""
    resources = config["resources"]["Resources"]
    stand_ins = {logical_id: Resource(logical_id, r["Type"], logical_id) for logical_id, r in resources.items()}
    return Stack(service=config["service"], config=config, region="us-east-1", resources=stand_ins)


def _deployed(stack: Stack, logical_id: str) -> dict[str, Any] | None:
    """A resource's properties as deployed, or None when its condition leaves it out."""
    definition = stack.config["resources"]["Resources"][logical_id]
    if not stack.condition_holds(definition):
        return None
    resolved: dict[str, Any] = stack.resolve(definition["Properties"])
    return resolved


WAF_RESOURCES = ("WebAcl", "WebAclAssociation", "WafLogGroup", "WafLogging")


def test_a_dev_stage_has_no_web_acl_cognitos_own_mail_and_no_threat_protection():
    auth = _as_deployed(printed_config("auth", "dev", {}))
    assert all(_deployed(auth, logical_id) is None for logical_id in WAF_RESOURCES)
    assert auth.resolve(auth.config["resources"]["Outputs"]["WebAclArn"]["Value"]) == "none"
    pool = _deployed(auth, "UserPool")
    assert pool is not None
    assert pool["EmailConfiguration"] == {"EmailSendingAccount": "COGNITO_DEFAULT"}
    assert "UserPoolAddOns" not in pool and pool["UserPoolTier"] == "ESSENTIALS"
    assert _deployed(auth, "UserPoolRiskConfiguration") is None
    # upload and retrieval get auth's "none" from compose, or nothing when deployed alone: no association
    for service in ("upload", "retrieval"):
        wired = {k: v for k, v in _wired_placeholders(service).items() if k != "webAclArn"}
        for params in (wired, {**wired, "webAclArn": "none"}):
            assert _deployed(_as_deployed(printed_config(service, "dev", params)), "WebAclAssociation") is None


def test_prod_puts_one_web_acl_with_per_ip_rate_rules_on_every_api_stage(templates):
    auth = _as_deployed(printed_config("auth", "prod", {}))
    web_acl = _deployed(auth, "WebAcl")
    assert web_acl is not None and web_acl["Scope"] == "REGIONAL" and web_acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in web_acl["Rules"]}
    params = serverless_config("auth")["params"]["default"]
    # Every route, per client IP and 5 minutes, answered 429 in the platform's error shape
    every_route = rules["requests-per-ip"]
    assert every_route["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": 300,
        "Limit": params["wafRequestsPerIpPer5Minutes"],
    }
    assert every_route["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    body_key = every_route["Action"]["Block"]["CustomResponse"]["CustomResponseBodyKey"]
    assert json.loads(web_acl["CustomResponseBodies"][body_key]["Content"])["error"]["code"] == "rate_limited"
    # Far fewer for the routes that make Cognito send an e-mail, with or without the stage in the path
    email = rules["email-routes-per-ip"]["Statement"]["RateBasedStatement"]
    assert email["AggregateKeyType"] == "IP"
    assert email["Limit"] * 10 <= every_route["Statement"]["RateBasedStatement"]["Limit"]
    pattern = re.compile(email["ScopeDownStatement"]["RegexMatchStatement"]["RegexString"])
    for path in ("/prod/auth/signup", "/auth/resend-code", "/prod/auth/forgot-password", "/prod/auth/signup/"):
        assert pattern.search(path), path
    for path in ("/prod/auth/signin", "/prod/auth/confirm-forgot-password", "/prod/upload", "/images/x"):
        assert not pattern.search(path), path
    assert "AWSManagedRulesKnownBadInputsRuleSet" in json.dumps(rules["known-bad-inputs"])
    # Metrics for the ACL and each rule; blocked requests logged without the Authorization header
    for visibility in [web_acl["VisibilityConfig"], *(rule["VisibilityConfig"] for rule in web_acl["Rules"])]:
        assert visibility["CloudWatchMetricsEnabled"] is True
    logging = auth.config["resources"]["Resources"]["WafLogging"]["Properties"]
    assert logging["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}]
    assert _deployed(auth, "WafLogGroup")["LogGroupName"].startswith("aws-waf-logs-")  # type: ignore[index]
    # On auth's own stage (the stage resource: the association waits for it), and exported for the other two
    association = auth.config["resources"]["Resources"]["WebAclAssociation"]
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    assert "${ApiGatewayStage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert auth.config["resources"]["Outputs"]["WebAclArn"]["Value"]["Fn::If"][1] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    for service in ("upload", "retrieval"):
        assert compose()["services"][service]["params"]["webAclArn"] == "${auth.WebAclArn}"
        stack = _as_deployed(printed_config(service, "prod", _wired_placeholders(service)))
        definition = stack.config["resources"]["Resources"]["WebAclAssociation"]
        assert stack.condition_holds(definition)
        association = definition["Properties"]
        assert stack.resolve(association["WebACLArn"]) == _placeholder_outputs()["WebAclArn"]
        assert "${ApiGatewayStage}" in association["ResourceArn"]["Fn::Sub"]
    # Every API's packaged template has the stage the association names
    for service in API_SERVICES:
        assert templates[service]["Resources"]["ApiGatewayStage"]["Type"] == "AWS::ApiGateway::Stage"
        assert "WebAclAssociation" in templates[service]["Resources"], service


def test_a_stage_sets_its_own_per_ip_limit():
    auth = _as_deployed(printed_config("auth", "dev", {"wafEnabled": "true", "wafRequestsPerIpPer5Minutes": "300"}))
    web_acl = _deployed(auth, "WebAcl")
    assert web_acl is not None
    (rule,) = [rule for rule in web_acl["Rules"] if rule["Name"] == "requests-per-ip"]
    assert int(rule["Statement"]["RateBasedStatement"]["Limit"]) == 300


def test_a_real_stage_sends_cognitos_mail_through_ses_and_enforces_threat_protection():
    ses = {"sesSourceArn": PLACEHOLDER_SES_IDENTITY, "sesFromAddress": "Image platform <no-reply@example.com>"}
    auth = _as_deployed(printed_config("auth", "prod", ses))
    pool = _deployed(auth, "UserPool")
    assert pool is not None
    assert pool["EmailConfiguration"] == {
        "EmailSendingAccount": "DEVELOPER",
        "SourceArn": PLACEHOLDER_SES_IDENTITY,
        "From": ses["sesFromAddress"],
    }
    # Threat protection needs the Plus plan; enforced, it refuses leaked passwords and blocks no one on a risk score
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"} and pool["UserPoolTier"] == "PLUS"
    risk = _deployed(auth, "UserPoolRiskConfiguration")
    assert risk is not None and risk["ClientId"] == "ALL"
    assert risk["CompromisedCredentialsRiskConfiguration"]["Actions"] == {"EventAction": "BLOCK"}
    leaked_password_checks = risk["CompromisedCredentialsRiskConfiguration"]["EventFilter"]
    assert set(leaked_password_checks) == {"SIGN_IN", "SIGN_UP", "PASSWORD_CHANGE"}
    takeover = risk["AccountTakeoverRiskConfiguration"]["Actions"].values()
    assert all(action["EventAction"] != "BLOCK" for action in takeover)
    # Audit only: risk scores and metrics, the Plus plan, no risk configuration acting on them
    audit = _as_deployed(printed_config("auth", "dev", {"threatProtection": "AUDIT"}))
    pool = _deployed(audit, "UserPool")
    assert pool is not None and pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "AUDIT"}
    assert _deployed(audit, "UserPoolRiskConfiguration") is None


def _grants(templates: dict[str, dict[str, Any]], action: str) -> dict[tuple[str, str], list[str]]:
    """(service, role) -> the resources (as JSON text) of every statement that allows `action`."""
    grants: dict[tuple[str, str], list[str]] = {}
    for service, logical_id, properties in _resources(templates, "AWS::IAM::Role"):
        for policy in properties.get("Policies") or []:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                if statement["Effect"] == "Allow" and action in actions:
                    grants.setdefault((service, logical_id), []).append(json.dumps(statement["Resource"]))
    return grants


def test_originals_that_no_record_ever_owned_expire_after_the_processing_windows(templates):
    from imgplat_common.original_tags import STATUS_TAG, UNCLAIMED_ORIGINAL_TAGS
    from imgplat_processing.settings import ReconcilerSettings

    bucket = templates["upload"]["Resources"]["OriginalsBucket"]["Properties"]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"] if "Id" in rule}  # not the Fn::If
    rule = rules["expire-unclaimed-originals"]

    # Every upload arrives tagged unclaimed (the tag upload signs, the one the rule matches), only under originals/
    assert rule["Status"] == "Enabled" and rule["Prefix"] == "originals/"
    assert rule["TagFilters"] == [{"Key": STATUS_TAG, "Value": UNCLAIMED_ORIGINAL_TAGS[STATUS_TAG]}]
    # and it expires long after Claim (or the reconciler, for a run that never started) would have re-tagged it
    days = int(rule["ExpirationInDays"])
    assert days == int(param_default("upload", "unclaimedRetentionDays"))
    reconciler = ReconcilerSettings.model_fields
    longest_wait_seconds = reconciler["upload_window_seconds"].default + reconciler["stuck_after_seconds"].default
    assert days * 86_400 >= 10 * longest_wait_seconds


def test_only_claim_and_delete_image_may_remove_originals_and_uploads_may_tag_them(templates):
    deleters = {role: resources for role, resources in _grants(templates, "s3:DeleteObject").items()}
    originals_deleters = {
        role for role, resources in deleters.items() if any("originals/" in resource for resource in resources)
    }
    assert originals_deleters == {
        ("processing", "ClaimIamRoleLambdaExecution"),
        ("retrieval", "DeleteImageIamRoleLambdaExecution"),
    }
    assert all(
        resource.endswith('/originals/*"}') for resource in deleters[("processing", "ClaimIamRoleLambdaExecution")]
    )
    taggers = _grants(templates, "s3:PutObjectTagging")
    # upload signs the unclaimed tag into every upload (S3 checks s3:PutObjectTagging on the signing role)
    assert any(
        "originals/*" in resource for resource in taggers[("upload", "CreateUnderscoreuploadIamRoleLambdaExecution")]
    )
    assert ("processing", "ClaimIamRoleLambdaExecution") in taggers


def _workflow_definition(template: dict[str, Any]) -> dict[str, Any]:
    definition = template["Resources"]["ImageWorkflow"]["Properties"]["DefinitionString"]
    return dict(json.loads(definition["Fn::Sub"][0] if isinstance(definition, dict) else definition))


def test_the_workflow_type_is_a_param_standard_by_default_and_express_in_prod(templates, express_template):
    params = serverless_config("processing")["params"]
    assert (params["default"]["workflowType"], params["prod"]["workflowType"]) == ("STANDARD", "EXPRESS")
    standard = templates["processing"]["Resources"]
    express = express_template["Resources"]
    assert standard["ImageWorkflow"]["Properties"]["StateMachineType"] == "STANDARD"
    assert express["ImageWorkflow"]["Properties"]["StateMachineType"] == "EXPRESS"
    # A type cannot change in place: a stage that switches gets a new state machine under a name of its own
    names = {r["ImageWorkflow"]["Properties"]["StateMachineName"] for r in (standard, express)}
    assert names == {"imgplat-processing-dev-workflow", "imgplat-processing-dev-express-workflow"}
    # Express keeps no execution history: both log to the workflow's own (encrypted, retained) log group
    for resources in (standard, express):
        logging = resources["ImageWorkflow"]["Properties"]["LoggingConfiguration"]
        assert logging["Level"] in {"ERROR", "ALL"}
        assert logging["Destinations"] == [
            {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["WorkflowLogGroup", "Arn"]}}}
        ]
    # Both start the same way (StartExecution, asynchronous) with the same grant
    assert standard["OrchestratorIamRoleLambdaExecution"] == express["OrchestratorIamRoleLambdaExecution"]


def test_an_express_run_fits_300_seconds_and_standard_keeps_its_timeouts(templates, express_template):
    standard = _workflow_definition(templates["processing"])
    express = _workflow_definition(express_template)
    written = load_yaml(service_dir("processing") / "statemachine.asl.yaml")
    # Standard is the definition as written; Express only changes timeouts (the same states, retries and catches)
    assert standard["TimeoutSeconds"] == written["TimeoutSeconds"]
    assert {name: state.get("TimeoutSeconds") for name, state in standard["States"].items()} == {
        name: state.get("TimeoutSeconds") for name, state in written["States"].items()
    }
    assert express["TimeoutSeconds"] <= 300
    timed_tasks = {name: state for name, state in express["States"].items() if "TimeoutSeconds" in state}
    assert set(timed_tasks) == {"Validate", "Resize", "Watermark"}
    for name, state in express["States"].items():
        without_timeouts = {key: value for key, value in state.items() if key != "TimeoutSeconds"}
        assert without_timeouts == {k: v for k, v in standard["States"][name].items() if k != "TimeoutSeconds"}
    resources = express_template["Resources"]
    for name, task in timed_tasks.items():
        function = resources[f"{name}LambdaFunction"]["Properties"]
        assert function["Timeout"] < task["TimeoutSeconds"], name  # the task waits out its function, no longer
    # Room for Claim and Persist at their functions' timeouts and one image step timing out once and repeated,
    # beside the seconds the other steps work; a run that hangs longer times out (its alarm) at the run's timeout
    functions = {name: resources[f"{name}LambdaFunction"]["Properties"]["Timeout"] for name in ("Claim", "Persist")}
    task = max(state["TimeoutSeconds"] for state in timed_tasks.values())
    assert functions["Claim"] + 2 * task + functions["Persist"] <= express["TimeoutSeconds"]
    # The reconciler fails a PROCESSING record only after any run of either type has ended
    from imgplat_processing.settings import ReconcilerSettings

    stuck_after = ReconcilerSettings.model_fields["stuck_after_seconds"].default
    assert stuck_after > standard["TimeoutSeconds"] > express["TimeoutSeconds"]


# The IAM prefix of each CloudFormation namespace the templates use, where the two differ.
IAM_PREFIX_OF_NAMESPACE = {"Cognito": "cognito-idp", "StepFunctions": "states"}


def test_the_deployer_policy_outline_parses_and_covers_every_service_the_templates_create(templates):
    doc = (ROOT / "docs" / "deploy.md").read_text()
    outline = re.search(r"## IAM needed to deploy.*?```json\n(.*?)```", doc, re.S)
    assert outline, "docs/deploy.md has no deployer policy outline"
    statements = json.loads(outline.group(1))["Statement"]
    prefixes = {action.split(":")[0] for statement in statements for action in statement["Action"]}
    types = {resource["Type"] for template in templates.values() for resource in template["Resources"].values()}
    namespaces = {resource_type.split("::")[1] for resource_type in types}
    missing = {n for n in namespaces if IAM_PREFIX_OF_NAMESPACE.get(n, n.lower()) not in prefixes}
    assert not missing, f"the deployer outline grants nothing on {sorted(missing)}"
    # Each stage's user pool sets its MFA configuration (TOTP offered), which CloudFormation does through this call
    assert any("cognito-idp:SetUserPoolMfaConfig" in statement["Action"] for statement in statements)


def test_processing_publishes_no_lambda_version_per_deploy(templates):
    # Nothing calls a version (the workflow and the queue call $LATEST); kept versions fill the code storage quota
    versions = [service for service, _, _ in _resources(templates, "AWS::Lambda::Version")]
    assert "processing" not in versions


def test_custom_metrics_and_their_alarms_live_in_one_namespace_per_stage(templates):
    # dev and prod in one account and region must not page for each other's metrics
    written = {
        (service, properties["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"])
        for service, _, properties in _resources(templates, "AWS::Lambda::Function")
    }
    assert {namespace for _, namespace in written} <= {"ImagePlatform/dev"}
    alarmed = {
        (service, properties["Namespace"])
        for service, _, properties in _resources(templates, "AWS::CloudWatch::Alarm")
        if not properties.get("Namespace", "AWS/").startswith("AWS/")
    }
    assert alarmed and alarmed <= written
