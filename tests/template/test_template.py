"""The SAM template and the code agree: the same functions, the same routes, and cfn-lint is content."""
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SCOPE = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/"


def template():
    return cfn_yaml.load(str(TEMPLATE))


def functions_in_template():
    """Binary name → the function's resource properties."""
    return {
        resource["Metadata"]["BuildProperties"]["Binary"]: resource["Properties"]
        for resource in template()["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def functions_in_workspace():
    return {
        tomllib.loads((crate / "Cargo.toml").read_text())["package"]["name"]
        for crate in (ROOT / "functions").iterdir()
        if (crate / "Cargo.toml").exists()
    }


def routes_in_code():
    binary = ROOT / "target" / "debug" / "caliper-local"
    return json.loads(subprocess.run([str(binary), "--routes"], check=True, capture_output=True, text=True).stdout)


# Dummy credentials and a region: the checks run offline.
OFFLINE = dict(os.environ, AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               SAM_CLI_TELEMETRY="0")


def tool(name):
    return str(Path(sys.executable).parent / name)


def test_cfn_lint_passes():
    result = subprocess.run([tool("cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, env=OFFLINE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("flags", [[], ["--lint"]])
def test_sam_validate_passes(flags):
    result = subprocess.run([tool("sam"), "validate", *flags, "--template-file", str(TEMPLATE)],
                            capture_output=True, text=True, env=OFFLINE, cwd=ROOT)
    assert result.returncode == 0 and "is a valid SAM Template" in result.stdout, result.stdout + result.stderr


def test_every_function_is_deployed_and_every_deployed_function_exists():
    assert set(functions_in_template()) == functions_in_workspace()


def test_every_route_is_deployed_to_its_function_with_its_scopes():
    deployed = set()
    for binary, properties in functions_in_template().items():
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                p = event["Properties"]
                scopes = p["Auth"].get("AuthorizationScopes", [])
                assert all(s.startswith(SCOPE) for s in scopes), scopes
                if not scopes:
                    assert p["Auth"] == {"Authorizer": "NONE"}, f"{p['Path']} has no scopes: it must be public"
                deployed.add((p["Method"], p["Path"], binary, frozenset(scopes)))
    in_code = {(r["method"], r["path"], r["function"], frozenset(r["scopes"])) for r in routes_in_code()}
    assert deployed == in_code


@pytest.mark.parametrize("binary, queue, attempts", [("process-events", "EventsQueue", "MaxReceives"),
                                                     ("deliver-webhooks", "DeliveryQueue", "DeliveryAttempts")])
def test_each_worker_is_fed_by_its_queue_with_partial_batch_failures(binary, queue, attempts):
    events = functions_in_template()[binary]["Events"].values()
    sqs = [e["Properties"] for e in events if e["Type"] == "SQS"]
    assert len(sqs) == 1
    assert resource_name(sqs[0]["Queue"]) == queue
    assert sqs[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # The code gives up (logs, marks) on the receive the redrive policy makes the last one.
    redrive = template()["Resources"][queue]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == {"Ref": attempts}


def test_the_events_table_has_the_indexes_the_code_queries():
    binary = ROOT / "target" / "debug" / "caliper-local"
    wanted = json.loads(subprocess.run([str(binary), "--event-indexes"], check=True, capture_output=True, text=True).stdout)
    table = template()["Resources"]["EventsTable"]["Properties"]
    assert json.loads(json.dumps(table["GlobalSecondaryIndexes"])) == wanted
    # An event is its client's (shared/aws/src/dynamo_events.rs): Caliper id and client are the key.
    assert table["KeySchema"] == [
        {"AttributeName": "externalId", "KeyType": "HASH"},
        {"AttributeName": "clientAppId", "KeyType": "RANGE"},
    ]
    defined = {a["AttributeName"] for a in table["AttributeDefinitions"]}
    keys = {k["AttributeName"] for index in wanted + [table] for k in index["KeySchema"]}
    assert keys <= defined, f"key attributes without a definition: {keys - defined}"


def function_resources():
    """Binary name → the function's logical id in the template."""
    return {
        resource["Metadata"]["BuildProperties"]["Binary"]: name
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


@pytest.mark.parametrize("alarm, metric", [("FunctionErrorsAlarm", "Errors"), ("ThrottlesAlarm", "Throttles")])
def test_every_function_is_watched_for_errors_and_throttles(alarm, metric):
    properties = template()["Resources"][alarm]["Properties"]
    watched = set()
    for query in properties["Metrics"]:
        if "MetricStat" in query:
            stat = query["MetricStat"]["Metric"]
            assert stat["MetricName"] == metric
            watched |= {d["Value"]["Ref"] for d in stat["Dimensions"] if d["Name"] == "FunctionName"}
    assert watched == set(function_resources().values())
    total = next(q for q in properties["Metrics"] if q.get("ReturnData"))
    ids = {q["Id"] for q in properties["Metrics"] if "MetricStat" in q}
    assert all(i in total["Expression"] for i in ids), total["Expression"]


def test_every_alarm_notifies_the_alarm_topic():
    alarms = [r for r in template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) >= 4
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)


# What each function's code calls (shared/aws), and nothing more: least privilege, checked.
PERMISSIONS = {
    "submit-events": {("dynamodb:PutItem", "JobsTable"), ("dynamodb:UpdateItem", "JobsTable"),
                      ("sqs:SendMessage", "EventsQueue")},
    "process-events": {("dynamodb:UpdateItem", "JobsTable"), ("dynamodb:BatchGetItem", "EventsTable"),
                       ("dynamodb:PutItem", "EventsTable"), ("dynamodb:UpdateItem", "EventsTable"),
                       ("sqs:SendMessage", "DeliveryQueue")},
    "dead-letters": {("dynamodb:UpdateItem", "JobsTable"), ("sqs:SendMessage", "EventsReplayQueue")},
    "job-status": {("dynamodb:GetItem", "JobsTable")},
    "query-events": {(action, resource) for action in ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
                     for resource in ("EventsTable", "EventsTable/index/*")}
                    | {("kms:GenerateMac", "CursorKey"), ("kms:VerifyMac", "CursorKey")},
    "validate-events": set(),
    "endpoint-config": set(),
    "api-description": set(),
    "webhooks": {("dynamodb:GetItem", "WebhooksTable"), ("dynamodb:PutItem", "WebhooksTable"),
                 ("dynamodb:Query", "WebhooksTable"),
                 ("kms:GenerateDataKey", "SecretsKey"), ("kms:Decrypt", "SecretsKey")},
    "deliver-webhooks": {("dynamodb:GetItem", "WebhooksTable"), ("dynamodb:Query", "WebhooksTable"),
                         ("dynamodb:GetItem", "EventsTable"), ("dynamodb:BatchGetItem", "EventsTable"),
                         ("sqs:SendMessage", "DeliveryQueue"),
                         ("sqs:ChangeMessageVisibility", "DeliveryQueue"),
                         ("kms:Decrypt", "SecretsKey")},
}


def resource_name(resource):
    """`!GetAtt X.Arn` → X; `!Sub ${X.Arn}/index/*` → X/index/*."""
    if "Fn::GetAtt" in resource:
        return resource["Fn::GetAtt"][0] if isinstance(resource["Fn::GetAtt"], list) else resource["Fn::GetAtt"].split(".")[0]
    return resource["Fn::Sub"].replace("${", "").replace(".Arn}", "")


def test_each_function_may_do_exactly_what_its_code_does():
    for binary, properties in functions_in_template().items():
        granted = set()
        for policy in properties.get("Policies", []):
            assert set(policy) == {"Statement"}, f"{binary}: write statements, not policy templates: {policy}"
            for statement in policy["Statement"]:
                assert statement["Effect"] == "Allow"
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                granted |= {(action, resource_name(r)) for action in statement["Action"] for r in resources}
        assert granted == PERMISSIONS[binary], binary


def test_the_authorizer_trusts_the_user_pool_and_admits_its_app_clients():
    api = template()["Resources"]["HttpApi"]["Properties"]["Auth"]
    assert api["DefaultAuthorizer"] == "Cognito"
    jwt = api["Authorizers"]["Cognito"]["JwtConfiguration"]
    assert "${UserPool}" in jwt["issuer"]["Fn::Sub"]
    with_clients, example_only = jwt["audience"]["Fn::If"][1:]
    assert example_only == [{"Ref": "ExampleClient"}]
    listed = json.dumps(with_clients)
    assert '{"Ref": "ExampleClient"}' in listed and '{"Ref": "AppClientIds"}' in listed, listed


def test_the_abandoned_delivery_metric_counts_the_line_the_code_logs():
    pattern = template()["Resources"]["AbandonedDeliveriesMetric"]["Properties"]["FilterPattern"]
    # Lambda keeps the function's JSON log lines; tracing's JSON puts the message at fields.message.
    message = pattern.split('$.fields.message = "')[1].split('"')[0]
    code = (ROOT / "shared" / "core" / "src" / "webhooks" / "delivery.rs").read_text()
    error_calls = [call.split(");")[0] for call in code.split("tracing::error!(")[1:]]
    assert any(f'"{message}"' in call for call in error_calls), f"no tracing::error! logs {message!r}"
    assert template()["Resources"]["AbandonedDeliveriesMetric"]["Properties"]["LogGroupName"] == {"Ref": "DeliverWebhooksLogs"}
