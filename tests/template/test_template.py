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


def deployed_routes():
    """(method, path, binary, public) of every HttpApi event."""
    routes = set()
    for binary, properties in functions_in_template().items():
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                p = event["Properties"]
                auth = p.get("Auth")
                # A route takes the default authorizer (scopes are the route table's, applied by
                # the authorizer), or is public.
                assert auth in (None, {"Authorizer": "NONE"}), f"{p['Path']}: {auth}"
                routes.add((p["Method"], p["Path"], binary, auth is not None))
    return routes


SLASH_ROUTE = "/{proxy+}"


def test_every_route_is_deployed_to_its_function_and_none_ends_in_a_slash():
    deployed = deployed_routes()
    # API Gateway refuses (or SAM silently drops) a route key ending in "/".
    assert not [r for r in deployed if r[1].endswith("/")], deployed
    wanted = set()
    for r in routes_in_code():
        wanted.add((r["method"], r["path"], r["function"], not r["scopes"]))
        # The official client's trailing slash: a greedy route beside the collection.
        if r["documentedPath"] != r["path"]:
            assert r["documentedPath"] == r["path"] + "/"
            wanted.add((r["method"], r["path"] + SLASH_ROUTE, r["function"], not r["scopes"]))
    assert deployed == wanted


def test_the_canvas_queue_is_optional_named_as_canvas_requires_and_writable_by_instructure():
    resources = template()["Resources"]
    assert template()["Parameters"]["CanvasClientAppId"]["Default"] == ""
    assert template()["Parameters"]["CanvasAccountId"]["Default"] == "636161780776"
    optional = {name for name, r in resources.items() if r.get("Condition") == "HasCanvasQueue"}
    assert optional == {"CanvasQueue", "CanvasDeadLetterQueue", "CanvasQueuePolicy", "CanvasQueueTrigger",
                        "CanvasDeadLetterAlarm"}
    queue = resources["CanvasQueue"]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "canvas-live-events-${AWS::StackName}"}
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["CanvasDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": {"Ref": "MaxReceives"}}
    statement, = resources["CanvasQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:aws:iam::${CanvasAccountId}:root"}}
    assert "sqs:SendMessage" in statement["Action"]
    trigger = resources["CanvasQueueTrigger"]["Properties"]
    assert trigger["FunctionName"] == {"Ref": "CanvasQueueFunction"}
    assert trigger["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # The function's grant on the queue names it as the queue is named.
    variables = functions_in_template()["canvas-queue"]["Environment"]["Variables"]
    assert variables["CALIPER_CANVAS_QUEUE_URL"]["Fn::If"][:2] == ["HasCanvasQueue", {"Ref": "CanvasQueue"}]


@pytest.mark.parametrize("binary, queue, attempts", [("process-events", "EventsQueue", "MaxReceives"),
                                                     ("deliver-webhooks", "DeliveryQueue", "DeliveryAttempts"),
                                                     ("export-events", "ExportQueue", "MaxReceives"),
                                                     ("erase-events", "ErasureQueue", "MaxReceives")])
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
    "submit-events": {("dynamodb:GetItem", "WebhooksTable"),
                      ("dynamodb:PutItem", "JobsTable"), ("dynamodb:UpdateItem", "JobsTable"),
                      ("sqs:SendMessage", "EventsQueue")},
    "process-events": {("dynamodb:UpdateItem", "JobsTable"), ("dynamodb:GetItem", "EventsTable"),
                       ("dynamodb:BatchGetItem", "EventsTable"),
                       ("dynamodb:PutItem", "EventsTable"), ("dynamodb:UpdateItem", "EventsTable"),
                       ("sqs:SendMessage", "DeliveryQueue"),
                       ("sqs:ChangeMessageVisibility", "EventsQueue"),
                       ("dynamodb:GetItem", "WebhooksTable"),
                       ("dynamodb:PutItem", "WebhooksTable"), ("dynamodb:UpdateItem", "WebhooksTable")},
    "dead-letters": {("dynamodb:UpdateItem", "JobsTable"), ("sqs:SendMessage", "EventsReplayQueue")},
    "job-status": {("dynamodb:GetItem", "JobsTable")},
    "query-events": {(action, resource) for action in ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
                     for resource in ("EventsTable", "EventsTable/index/*")}
                    | {("dynamodb:GetItem", "WebhooksTable"),
                       ("kms:GenerateMac", "CursorKey"), ("kms:VerifyMac", "CursorKey")},
    "authorize": {("dynamodb:GetItem", "WebhooksTable"), ("dynamodb:PutItem", "WebhooksTable")},
    "clients": {("dynamodb:GetItem", "WebhooksTable"), ("dynamodb:PutItem", "WebhooksTable"),
                ("dynamodb:Query", "WebhooksTable"),
                ("dynamodb:PutItem", "JobsTable"), ("dynamodb:UpdateItem", "JobsTable"),
                ("sqs:SendMessage", "ErasureQueue")},
    "quarantine": {("dynamodb:GetItem", "WebhooksTable"), ("dynamodb:Query", "WebhooksTable"),
                   ("dynamodb:DeleteItem", "WebhooksTable"), ("dynamodb:UpdateItem", "WebhooksTable"),
                   ("dynamodb:PutItem", "JobsTable"), ("dynamodb:UpdateItem", "JobsTable"),
                   ("sqs:SendMessage", "EventsQueue")},
    "connector-events": {("dynamodb:GetItem", "WebhooksTable"), ("dynamodb:PutItem", "WebhooksTable"),
                         ("dynamodb:UpdateItem", "WebhooksTable"),
                         ("dynamodb:PutItem", "JobsTable"), ("dynamodb:UpdateItem", "JobsTable"),
                         ("sqs:SendMessage", "EventsQueue")},
    "canvas-queue": {("dynamodb:GetItem", "WebhooksTable"), ("dynamodb:PutItem", "WebhooksTable"),
                     ("dynamodb:UpdateItem", "WebhooksTable"),
                     ("dynamodb:PutItem", "JobsTable"), ("dynamodb:UpdateItem", "JobsTable"),
                     ("sqs:SendMessage", "EventsQueue")}
                    | {(action, "CanvasQueue") for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage",
                                                              "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility")},
    "exports": {("dynamodb:GetItem", "JobsTable"), ("dynamodb:PutItem", "JobsTable"),
                ("dynamodb:UpdateItem", "JobsTable"), ("sqs:SendMessage", "ExportQueue"),
                ("s3:GetObject", "ExportBucket/*")},
    "export-events": {("dynamodb:GetItem", "JobsTable"), ("dynamodb:UpdateItem", "JobsTable"),
                      ("dynamodb:GetItem", "EventsTable"), ("dynamodb:GetItem", "EventsTable/index/*"),
                      ("dynamodb:BatchGetItem", "EventsTable"), ("dynamodb:Query", "EventsTable"),
                      ("dynamodb:BatchGetItem", "EventsTable/index/*"), ("dynamodb:Query", "EventsTable/index/*"),
                      ("dynamodb:GetItem", "WebhooksTable"),
                      ("s3:PutObject", "ExportBucket/*"),
                      ("sqs:SendMessage", "ExportQueue"), ("sqs:ChangeMessageVisibility", "ExportQueue")},
    "erasures": {("dynamodb:GetItem", "JobsTable"), ("dynamodb:PutItem", "JobsTable"),
                 ("dynamodb:UpdateItem", "JobsTable"), ("sqs:SendMessage", "ErasureQueue"),
                 ("kms:GenerateMac", "CursorKey")},
    "erase-events": {("dynamodb:GetItem", "JobsTable"), ("dynamodb:UpdateItem", "JobsTable"),
                     ("dynamodb:GetItem", "EventsTable"), ("dynamodb:GetItem", "EventsTable/index/*"),
                     ("dynamodb:BatchGetItem", "EventsTable"), ("dynamodb:Query", "EventsTable"),
                     ("dynamodb:BatchGetItem", "EventsTable/index/*"), ("dynamodb:Query", "EventsTable/index/*"),
                     ("dynamodb:PutItem", "EventsTable"), ("dynamodb:DeleteItem", "EventsTable"),
                     ("dynamodb:UpdateItem", "EventsTable"),
                     ("dynamodb:GetItem", "WebhooksTable"), ("dynamodb:Query", "WebhooksTable"),
                     ("dynamodb:DeleteItem", "WebhooksTable"), ("dynamodb:UpdateItem", "WebhooksTable"),
                     ("sqs:SendMessage", "ErasureQueue"), ("sqs:ChangeMessageVisibility", "ErasureQueue")},
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
    """`!GetAtt X.Arn` → X; `!Sub ${X.Arn}/index/*` → X/index/*; the Canvas queue by its ARN (it
    exists only with the CanvasClientAppId parameter)."""
    canvas_arn = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:canvas-live-events-${AWS::StackName}"
    if resource == {"Fn::Sub": canvas_arn}:
        return "CanvasQueue"
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


def test_the_authorizer_is_our_function_trusting_the_user_pool_and_caching_per_token():
    api = template()["Resources"]["HttpApi"]["Properties"]["Auth"]
    name = api["DefaultAuthorizer"]
    authorizer = api["Authorizers"][name]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizeFunction", "Arn"]}
    # The IAM policy answer (not the simple one): it lists the routes a token may call, so one
    # cached answer is right for every route.
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is False
    assert authorizer["EnableFunctionDefaultPermissions"] is True
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    assert 0 < authorizer["Identity"]["ReauthorizeEvery"] <= 3600
    issuer = functions_in_template()["authorize"]["Environment"]["Variables"]["CALIPER_TOKEN_ISSUER"]
    assert issuer == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}
    outputs = template()["Outputs"]
    assert outputs["UserPoolId"]["Value"] == {"Ref": "UserPool"}
    assert {"ApiUrl", "TokenUrl", "ExampleClientId", "TokenIssuer", "DashboardUrl"} <= set(outputs)


def test_the_stage_is_throttled_and_logs_each_request_as_json():
    api = template()["Resources"]["HttpApi"]["Properties"]
    limits = api["DefaultRouteSettings"]
    assert limits == {"ThrottlingRateLimit": {"Ref": "ThrottleRateLimit"},
                      "ThrottlingBurstLimit": {"Ref": "ThrottleBurstLimit"}}
    logs = api["AccessLogSettings"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    line = json.loads(logs["Format"])
    assert {"requestId", "status", "routeKey", "clientId", "latencyMs"} <= set(line), line
    assert all(v.startswith("$context.") for v in line.values()), line


def test_the_workers_have_a_concurrency_ceiling_and_a_batching_window():
    for binary, ceiling in [("process-events", "ProcessorConcurrency"), ("deliver-webhooks", "DeliveryConcurrency")]:
        sqs = next(e["Properties"] for e in functions_in_template()[binary]["Events"].values() if e["Type"] == "SQS")
        assert sqs["ScalingConfig"] == {"MaximumConcurrency": {"Ref": ceiling}}
        assert 0 < sqs["MaximumBatchingWindowInSeconds"] <= 5
        assert template()["Parameters"][ceiling]["MinValue"] >= 2, "Lambda's least maximum concurrency"


def test_the_user_pool_and_every_table_outlive_the_stack():
    resources = template()["Resources"]
    kept = [r for r in resources.values() if r["Type"] in ("AWS::DynamoDB::Table", "AWS::Cognito::UserPool")]
    assert len(kept) == 4
    assert all(r.get("DeletionPolicy") == "Retain" and r.get("UpdateReplacePolicy") == "Retain" for r in kept)


# Lambda's request payload limit, with API Gateway's headers (10 KiB at most) and request context.
LAMBDA_EVENT_LIMIT = 6_000_000
ENVELOPE_OVERHEAD = 32 * 1024


def test_no_accepted_body_can_exceed_the_lambda_event_limit():
    limit = int(template()["Globals"]["Function"]["Environment"]["Variables"]["CALIPER_MAX_BODY_BYTES"])
    # A JSON body goes into the event as a JSON string: each '"' and '\\' gains a backslash, and a
    # body is valid JSON (else refused), so no other byte grows. Base64 (binary bodies) is 4/3.
    assert 2 * limit + ENVELOPE_OVERHEAD <= LAMBDA_EVENT_LIMIT
    worst = json.dumps({"body": '"' * limit})
    assert len(worst) + ENVELOPE_OVERHEAD <= LAMBDA_EVENT_LIMIT


def dashboard():
    body = template()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(body)


def test_the_dashboard_shows_every_function_queue_and_metric_the_template_makes():
    widgets = dashboard()["widgets"]
    rows = [row for w in widgets for row in w["properties"]["metrics"]]
    functions = {row[3] for row in rows if row[0] == "AWS/Lambda"}
    assert functions == {"${%s}" % name for name in function_resources().values()}
    for metric in ("Errors", "Duration"):
        assert {row[3] for row in rows if row[:2] == ["AWS/Lambda", metric]} == functions, metric
    queues = {row[3] for row in rows if row[0] == "AWS/SQS"}
    # The optional Canvas queue is watched by its own conditional alarm: a dashboard cannot name
    # a queue that may not exist.
    sqs = {name for name, r in template()["Resources"].items()
           if r["Type"] == "AWS::SQS::Queue" and "Condition" not in r}
    assert queues == {"${%s.QueueName}" % name for name in sqs}
    made = {t["MetricName"] for r in template()["Resources"].values() if r["Type"] == "AWS::Logs::MetricFilter"
            for t in r["Properties"]["MetricTransformations"]}
    shown = {row[1] for row in rows if row[0] == "Caliper/${Stage}"}
    assert shown == made == {"EventsAccepted", "EventsStored", "JobLatency", "WebhookDeliveries",
                             "WebhookDeliveryFailures", "WebhookDeliveriesAbandoned", "AuthenticationsRefused"}


# Each log metric counts a line the code writes, with the fields it reads.
LOGGED = {"job accepted": ("shared/core/src/submit.rs", ["events"]),
          "part processed": ("shared/core/src/process.rs", ["events", "latency_ms"]),
          "webhook delivered": ("shared/core/src/webhooks/delivery.rs", []),
          "webhook delivery failed; it will be tried again": ("shared/core/src/webhooks/delivery.rs", []),
          "webhook delivery abandoned": ("shared/core/src/webhooks/delivery.rs", []),
          "credentials refused": ("functions/authorize/src/main.rs", [])}


def test_every_log_metric_counts_a_line_the_code_writes():
    for r in template()["Resources"].values():
        if r["Type"] != "AWS::Logs::MetricFilter":
            continue
        pattern = r["Properties"]["FilterPattern"]
        message = pattern.split('$.fields.message = "')[1].split('"')[0]
        source, fields = LOGGED[message]
        code = (ROOT / source).read_text()
        calls = [c.split(");")[0] for c in code.split("tracing::")[1:] if f'"{message}"' in c.split(");")[0]]
        assert calls, f"{source} logs no {message!r}"
        for transform in r["Properties"]["MetricTransformations"]:
            value = transform["MetricValue"]
            if value.startswith("$.fields."):
                assert value.removeprefix("$.fields.") in fields
        assert all(any(f in c for c in calls) for f in fields), (message, fields)
