"""Create each CloudFormation resource type the services use, with boto3, in the emulated AWS."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from local.lambda_runtime import function_logical_id, function_memory_mb, function_timeout_seconds
from local.stack import ACCOUNT_ID, Resource, Stack, dependency_order, dummy_code_zip

# Types the emulator does not need: they guard or observe real AWS (policies, alarms, logs, API Gateway pieces).
NOT_EMULATED = {
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::Logs::LogGroup",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::ApiGateway::Account",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::EC2::VPCEndpoint",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::Lambda::EventInvokeConfig",  # retries and on-failure destinations: the local schedules log a failed run
    "AWS::Events::Archive",
    "AWS::WAFv2::WebACL",  # the per-IP rate rules of a real stage: the local stage has no WAF (wafEnabled)
    "AWS::WAFv2::WebACLAssociation",
    "AWS::WAFv2::LoggingConfiguration",
    "AWS::Cognito::UserPoolRiskConfigurationAttachment",
}
# The ARN an output may name of a type that is not emulated (the events archive: outputs export it for replays).
NOT_EMULATED_ARNS = {"AWS::Events::Archive": "arn:aws:events:{region}:{account}:archive/{name}"}
LOCAL_ROLE_NAME = "imgplat-local-execution"
# Characters after the type letter of a CloudFront id (E2QWRUHAPOMQZL, K2JCJMDEHXQW5F).
CLOUDFRONT_ID_LENGTH = 13


class Provisioner:
    """Creates one stack's resources, functions and state machines through `client(service_name)`."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self.client = client
        self._role_arn: str | None = None

    def deploy(self, stack: Stack) -> None:
        resources = (stack.config.get("resources") or {}).get("Resources") or {}
        # Functions exist before resources so resources and state machines can reference their ARNs.
        for key, function in (stack.config.get("functions") or {}).items():
            self._create_function(stack, key, function)
        for logical_id in dependency_order(resources):
            definition = resources[logical_id]
            if not stack.condition_holds(definition):
                continue
            create = getattr(self, "_" + definition["Type"].replace("::", "_").lower(), None)
            if create is None:
                if definition["Type"] not in NOT_EMULATED:
                    raise NotImplementedError(f"{stack.service}: {definition['Type']} is not emulated locally")
                arn = NOT_EMULATED_ARNS.get(definition["Type"], "")
                attributes = (
                    {"Arn": arn.format(region=stack.region, account=ACCOUNT_ID, name=logical_id)} if arn else {}
                )
                stack.resources[logical_id] = Resource(logical_id, definition["Type"], logical_id, attributes)
                continue
            properties = stack.resolve(definition.get("Properties") or {})
            stack.resources[logical_id] = create(stack, logical_id, properties)
        for key, machine in ((stack.config.get("stepFunctions") or {}).get("stateMachines") or {}).items():
            self._create_state_machine(stack, key, machine)
        for name, output in ((stack.config.get("resources") or {}).get("Outputs") or {}).items():
            if stack.condition_holds(output):
                stack.outputs[name] = str(stack.resolve(output["Value"]))

    # --- Lambda and Step Functions ----------------------------------------------------------------------------
    def role_arn(self) -> str:
        if self._role_arn is None:
            iam = self.client("iam")
            trust = {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]
            }
            try:
                self._role_arn = iam.create_role(RoleName=LOCAL_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))[
                    "Role"
                ]["Arn"]
            except iam.exceptions.EntityAlreadyExistsException:
                self._role_arn = iam.get_role(RoleName=LOCAL_ROLE_NAME)["Role"]["Arn"]
        return self._role_arn

    def _create_function(self, stack: Stack, key: str, function: dict[str, Any]) -> None:
        name = function["name"]
        arn = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=stack.config["provider"].get("runtime", "python3.12"),
            Role=self.role_arn(),
            Handler=function["handler"].replace("/", "."),
            Code={"ZipFile": dummy_code_zip()},
            Timeout=function_timeout_seconds(stack.config, key),
            MemorySize=function_memory_mb(stack.config, key),
        )["FunctionArn"]
        logical_id = function_logical_id(key)
        stack.resources[logical_id] = Resource(logical_id, "AWS::Lambda::Function", name, {"Arn": arn})

    def _create_state_machine(self, stack: Stack, key: str, machine: dict[str, Any]) -> None:
        definition = stack.resolve(machine["definition"])
        arn = self.client("stepfunctions").create_state_machine(
            name=machine.get("name") or f"{stack.name}-{key}",
            definition=json.dumps(definition),
            roleArn=self.role_arn(),
        )["stateMachineArn"]
        logical_id = machine.get("id") or f"{key[:1].upper()}{key[1:]}StepFunctionsStateMachine"
        stack.resources[logical_id] = Resource(logical_id, "AWS::StepFunctions::StateMachine", arn, {"Arn": arn})

    # --- CloudFront (delivery): played by the local platform's /cdn path (local/cdn.py), so only their ids exist ---
    def _aws_cloudfront_publickey(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        # CloudFront's public key ids look like "K2JCJMDEHXQW5F"; this one is derived from the key itself.
        encoded_key = properties["PublicKeyConfig"]["EncodedKey"]
        key_id = "K" + hashlib.sha256(encoded_key.encode()).hexdigest()[:CLOUDFRONT_ID_LENGTH].upper()
        return Resource(logical_id, "AWS::CloudFront::PublicKey", key_id, {"Id": key_id})

    def _aws_cloudfront_distribution(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        distribution_id = _local_cloudfront_id(stack, logical_id)
        attributes = {"Id": distribution_id, "DomainName": f"{distribution_id.lower()}.cloudfront.net"}
        return Resource(logical_id, "AWS::CloudFront::Distribution", distribution_id, attributes)

    def _cloudfront_setting(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        setting_id = _local_cloudfront_id(stack, logical_id)
        return Resource(logical_id, "AWS::CloudFront (local stand-in)", setting_id, {"Id": setting_id})

    _aws_cloudfront_originaccesscontrol = _cloudfront_setting
    _aws_cloudfront_cachepolicy = _cloudfront_setting
    _aws_cloudfront_responseheaderspolicy = _cloudfront_setting
    _aws_cloudfront_keygroup = _cloudfront_setting

    # --- data resources --------------------------------------------------------------------------------------
    def _aws_kms_key(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        kms = self.client("kms")
        key = kms.create_key(Description=properties.get("Description", logical_id))["KeyMetadata"]
        if properties.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        return Resource(logical_id, "AWS::KMS::Key", key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]})

    def _aws_kms_alias(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        self.client("kms").create_alias(AliasName=properties["AliasName"], TargetKeyId=properties["TargetKeyId"])
        return Resource(logical_id, "AWS::KMS::Alias", properties["AliasName"])

    def _aws_s3_bucket(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        s3 = self.client("s3")
        name = properties.get("BucketName") or f"{stack.name}-{logical_id}".lower()
        s3.create_bucket(Bucket=name)
        if "BucketEncryption" in properties:
            rules = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": _encryption_rules(rules)})
        if "CorsConfiguration" in properties:
            cors_rules = _cors_rules(properties["CorsConfiguration"]["CorsRules"])
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors_rules})
        queues = (properties.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
        if queues:
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": queue["Queue"],
                            "Events": [queue["Event"]],
                            **({"Filter": _s3_filter(queue["Filter"])} if "Filter" in queue else {}),
                        }
                        for queue in queues
                    ]
                },
            )
        return Resource(
            logical_id,
            "AWS::S3::Bucket",
            name,
            {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"},
        )

    def _aws_sqs_queue(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        sqs = self.client("sqs")
        name = properties.get("QueueName") or f"{stack.name}-{logical_id}"
        attributes = {
            key: json.dumps(value) if isinstance(value, dict) else str(value)
            for key, value in properties.items()
            if key
            in {
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "RedrivePolicy",
                "KmsMasterKeyId",
                "DelaySeconds",
                "ReceiveMessageWaitTimeSeconds",
            }
        }
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{stack.region}:{ACCOUNT_ID}:{name}"
        return Resource(logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _aws_events_eventbus(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        """A custom bus in moto's EventBridge, which delivers to the rules a test (or another team) puts on it."""
        name = properties.get("Name") or f"{stack.name}-{logical_id}"
        arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
        return Resource(logical_id, "AWS::Events::EventBus", name, {"Arn": arn, "Name": name})

    def _aws_dynamodb_table(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        name = properties.get("TableName") or f"{stack.name}-{logical_id}"
        arguments = {
            key: properties[key]
            for key in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            if key in properties
        }
        table = self.client("dynamodb").create_table(
            TableName=name, BillingMode=properties.get("BillingMode", "PAY_PER_REQUEST"), **arguments
        )["TableDescription"]
        return Resource(logical_id, "AWS::DynamoDB::Table", name, {"Arn": table["TableArn"]})

    def _aws_cognito_userpool(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        allowed = {
            "Policies",
            "UsernameAttributes",
            "AutoVerifiedAttributes",
            "Schema",
            "AccountRecoverySetting",
            "UserPoolTags",
        }
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(
            PoolName=properties.get("UserPoolName") or f"{stack.name}-{logical_id}",
            **{key: value for key, value in properties.items() if key in allowed},
        )["UserPool"]
        # EnabledMfas is CloudFormation's; the API sets it, with the MfaConfiguration it needs, in a second call.
        if "SOFTWARE_TOKEN_MFA" in properties.get("EnabledMfas", []):
            cognito.set_user_pool_mfa_config(
                UserPoolId=pool["Id"],
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=properties.get("MfaConfiguration", "OPTIONAL"),
            )
        attributes = {"Arn": pool["Arn"], "ProviderName": f"cognito-idp.{stack.region}.amazonaws.com/{pool['Id']}"}
        attributes["ProviderURL"] = f"https://{attributes['ProviderName']}"
        return Resource(logical_id, "AWS::Cognito::UserPool", pool["Id"], attributes)

    def _aws_cognito_userpoolclient(self, stack: Stack, logical_id: str, properties: dict[str, Any]) -> Resource:
        allowed = {
            "ExplicitAuthFlows",
            "GenerateSecret",
            "PreventUserExistenceErrors",
            "RefreshTokenValidity",
            "AccessTokenValidity",
            "IdTokenValidity",
            "TokenValidityUnits",
            "EnableTokenRevocation",
        }
        client = self.client("cognito-idp").create_user_pool_client(
            UserPoolId=properties["UserPoolId"],
            ClientName=properties.get("ClientName") or logical_id,
            **{key: value for key, value in properties.items() if key in allowed},
        )["UserPoolClient"]
        return Resource(logical_id, "AWS::Cognito::UserPoolClient", client["ClientId"])


def _local_cloudfront_id(stack: Stack, logical_id: str) -> str:
    return "E" + hashlib.sha256(f"{stack.name}/{logical_id}".encode()).hexdigest()[:CLOUDFRONT_ID_LENGTH].upper()


def _s3_filter(cloudformation_filter: dict[str, Any]) -> dict[str, Any]:
    rules = cloudformation_filter["S3Key"]["Rules"]
    return {"Key": {"FilterRules": [{"Name": rule["Name"], "Value": rule["Value"]} for rule in rules]}}


def _encryption_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault."""
    return [
        {
            "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
            "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled")),
        }
        for rule in rules
    ]


def _cors_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    renamed = {"MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders", "Id": "ID"}
    return [{renamed.get(key, key): value for key, value in rule.items()} for rule in rules]
