"""The function binaries as AWS runs them: under a Lambda Runtime API, with the template's
environment, against DynamoDB, SQS, KMS and Cognito served by moto. Every payload in `events/` is
invoked, and one flow goes through the binaries alone, as API Gateway and the SQS triggers would
drive them."""
import base64
import gzip
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from joserfc import jwk, jwt

from lambda_emulator import (DEBUG, EVENTS_DIR as EVENTS, LOGS, ROOT, Calls, Function, FunctionExited, Receiver, Stack,
                             client, make_resources, runtime_env)

MOTO = os.environ["CALIPER_TEST_MOTO_URL"]
SCOPE = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/"
EXAMPLE_JOB = "5f0c7a52-3c1e-4d7b-9a57-3f1d2b6c8e90"


def payload(name):
    return json.loads((EVENTS / name).read_text())


def aws(service):
    return client(service, MOTO)


# What each function asked of AWS in this module's tests (the last test judges it).
ASKED = {}


@pytest.fixture
def stack():
    receiver = Receiver()
    # Deliveries go to a receiver on this machine, as to a service in the function's VPC.
    resources = make_resources(MOTO)
    calls = Calls(MOTO, resources)
    # moto serves the pool's keys at its own address.
    s = Stack(MOTO, resources, {"CALIPER_WEBHOOK_ALLOW_PRIVATE": "true", "CALIPER_JWKS_URL": resources["jwks"]},
              calls)
    s.pool = resources["UserPool"]
    s.receiver = receiver
    yield s
    s.stop()
    receiver.close()
    for binary, pairs in calls.made.items():
        ASKED.setdefault(binary, set()).update(pairs)


def at_moto(stack, url):
    """Whether `url` is moto's, directly or through the proxy of one of the stack's functions."""
    return any(url.startswith(origin + "/") for origin in [MOTO, *stack.calls.proxies.values()])


def with_job(event, job_id):
    return json.loads(json.dumps(event).replace(EXAMPLE_JOB, job_id))


def test_a_submission_goes_through_the_binaries_alone_to_a_webhook(stack):
    status, accepted = stack.http("submit-events", payload("submit-events.json"))
    assert status == 200 and accepted["status"] == "success", accepted
    job = accepted["jobId"]

    status, waiting = stack.http("job-status", with_job(payload("job-status.json"), job))
    assert status == 200 and waiting["job"]["state"] == "waiting", waiting

    # The SQS trigger hands process-events what submit-events queued.
    verdict = stack.trigger("EventsQueue", "process-events")
    assert verdict == {"batchItemFailures": []}, verdict

    status, done = stack.http("job-status", with_job(payload("job-status.json"), job))
    assert status == 200 and done["job"]["state"] == "completed", done
    results = done["job"]["returnValue"]["results"]
    sent = json.loads(payload("submit-events.json")["body"])["data"]
    assert [r["externalId"] for r in results] == [e["id"] for e in sent]

    status, listed = stack.http("query-events", payload("query-events-list.json"))
    assert status == 200, listed
    assert {e["externalId"] for e in listed["events"]} == {e["id"] for e in sent}
    status, one = stack.http("query-events", payload("query-events-get.json"))
    assert status == 200 and one["event"]["externalId"] in {e["id"] for e in sent}, one

    # A webhook of the same client, at the official client's trailing-slash path.
    create = payload("webhooks-create.json")
    wanted = json.loads(create["body"])
    create["body"] = json.dumps({**wanted, "targetUrl": stack.receiver.url})
    status, created = stack.http("webhooks", create)
    assert status == 201, created

    # deliver-webhooks fans the stored events out, then sends each delivery.
    for _ in range(2):
        verdict = stack.trigger("DeliveryQueue", "deliver-webhooks")
        assert verdict == {"batchItemFailures": []}, verdict
    with stack.receiver.arrived:
        assert stack.receiver.arrived.wait_for(lambda: len(stack.receiver.posts) >= len(sent), timeout=60)
    delivered = {body["externalId"] for _, body in stack.receiver.posts}
    assert delivered == {e["id"] for e in sent}
    assert all(headers.get("x-caliper-signature") for headers, _ in stack.receiver.posts)


# What each payload in events/ answers when invoked as it is (job-status: with a job just made).
ANSWERS = {
    "api-description.json": 200,
    "endpoint-config.json": 200,
    "submit-events.json": 200,
    "submit-events-v1p1.json": 200,
    "submit-events-v1p2.json": 200,
    "submit-events-invalid.json": 400,
    "validate-events.json": 200,
    "job-status.json": 200,
    "query-events-list.json": 200,
    "query-events-get.json": 404,
    "webhooks-create.json": 201,
    "clients-set.json": 200,
    "clients-connector-create.json": 201,
    # Canvas's POST to a path with no connector.
    "connector-events.json": 404,
    "exports-create.json": 202,
    "erasures-create.json": 202,
}
# The SQS triggers' payloads, in this order, about a job just made: none fails.
TRIGGERS = ["process-events.json", "deliver-webhooks.json", "dead-letters.json", "canvas-queue.json",
            # A step of a job that is no export (no erasure) does nothing.
            "export-events.json", "erase-events.json"]


def binary_of(name):
    functions = sorted((p.name for p in (ROOT / "functions").iterdir()), key=len, reverse=True)
    return next(f for f in functions if name.removesuffix(".json").startswith(f))


def test_every_payload_in_events_is_answered_by_its_function(stack):
    names = {p.name for p in EVENTS.glob("*.json")} - {"envelope.json"}
    assert names == set(ANSWERS) | set(TRIGGERS) | {"authorize.json"}, "a payload without an expected answer"
    _, accepted = stack.http("submit-events", payload("submit-events.json"))
    for name, status in ANSWERS.items():
        event = with_job(payload(name), accepted["jobId"])
        got, body = stack.http(binary_of(name), event)
        assert got == status, (name, body)
        if status >= 400:
            assert body["status"] == "error" and body["message"], (name, body)
    job = accepted["jobId"]
    for name in TRIGGERS:
        kind, verdict = stack.function(binary_of(name)).invoke(with_job(payload(name), job))
        assert (kind, verdict) == ("response", {"batchItemFailures": []}), (name, verdict)
        if name == "process-events.json":
            # The payload's part is the job's: its events are the job's results.
            _, status = stack.http("job-status", with_job(payload("job-status.json"), job))
            part = json.loads(payload(name)["Records"][0]["body"])
            results = status["job"]["returnValue"]["results"]
            assert [r["externalId"] for r in results] == [e["id"] for e in part["events"]], status
    # The authorizer refuses the example's unsigned token: API Gateway answers that with 401.
    kind, refusal = stack.function("authorize").invoke(payload("authorize.json"))
    assert (kind, refusal["errorMessage"]) == ("error", "Unauthorized"), refusal


@pytest.mark.parametrize("binary, change, named", [
    ("submit-events", {"CALIPER_QUEUE_URL": ""}, "CALIPER_QUEUE_URL is not set"),
    ("process-events", {"CALIPER_MAX_RECEIVES": "five"}, 'CALIPER_MAX_RECEIVES is "five"'),
    ("query-events", {"CALIPER_CURSOR_KEY_IDS": ""}, "CALIPER_CURSOR_KEY_IDS is not set"),
    ("deliver-webhooks", {"CALIPER_WEBHOOK_ALLOW_PRIVATE": "yes"}, "CALIPER_WEBHOOK_ALLOW_PRIVATE is \"yes\""),
    ("authorize", {"CALIPER_TOKEN_ISSUER": ""}, "CALIPER_TOKEN_ISSUER is not set"),
    ("canvas-queue", {"CALIPER_CANVAS_CLIENT_APP_ID": ""}, "CALIPER_CANVAS_CLIENT_APP_ID is not set"),
])
def test_a_missing_or_bad_setting_stops_the_start_with_its_name(stack, binary, change, named):
    env = {**stack.env(binary), **change}
    function = Function(binary, env, LOGS)
    try:
        with pytest.raises(FunctionExited) as exited:
            function.init_seconds()
        assert exited.value.code != 0 and named in exited.value.output, exited.value.output
    finally:
        function.stop()


def moto_pool():
    """Another user pool with the Caliper resource server, in moto: (pool id, issuer)."""
    cognito = aws("cognito-idp")
    pool = cognito.create_user_pool(PoolName="caliper-test")["UserPool"]["Id"]
    cognito.create_resource_server(
        UserPoolId=pool, Identifier=SCOPE.rstrip("/"), Name="Caliper",
        Scopes=[{"ScopeName": s, "ScopeDescription": s} for s in ("admin", "event.create", "webhook.create", "webhook.readonly")])
    return pool, f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"



def moto_token(issuer, client_id, scopes, expires_in=3600):
    """An access token as Cognito's /oauth2/token issues it for client credentials, signed with
    moto's pool key (moto does not serve /oauth2/token)."""
    import moto.cognitoidp
    private = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    key = jwk.import_key(json.loads(gzip.decompress(private.read_bytes())))
    now = int(time.time())
    claims = {"sub": client_id, "client_id": client_id, "token_use": "access", "iss": issuer,
              "scope": " ".join(SCOPE + s for s in scopes), "exp": now + expires_in, "iat": now,
              "jti": os.urandom(8).hex(), "version": 2}
    return jwt.encode({"alg": "RS256", "kid": key.kid or "dummy"}, claims, key)


def admin(*args, pool):
    env = {**runtime_env("caliper-admin"), "AWS_ENDPOINT_URL": MOTO, "CALIPER_USER_POOL_ID": pool}
    out = subprocess.run([str(DEBUG / "caliper-admin"), "clients", *args], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_an_app_client_made_with_caliper_admin_calls_the_api_without_a_redeploy(stack):
    pool = stack.pool
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    made = admin("create", "--name", "grades-app", "--scope", "event.create", pool=pool)
    assert made["clientSecret"] and made["scopes"] == [SCOPE + "event.create"], made
    assert any(c["clientId"] == made["clientId"] for c in admin("list", pool=pool))

    # API Gateway asks the authorizer about the token, then calls the route with its context.
    token = moto_token(issuer, made["clientId"], ["event.create"])
    request = payload("authorize.json")
    request["identitySource"] = [f"Bearer {token}"]
    request["headers"]["authorization"] = f"Bearer {token}"
    checks = stack.function("authorize")
    kind, policy = checks.invoke(request)
    assert kind == "response", policy
    statement = policy["policyDocument"]["Statement"][0]
    base = request["routeArn"].rsplit("/POST/", 1)[0]
    assert statement["Effect"] == "Allow"
    assert f"{base}/POST/caliper/event" in statement["Resource"]
    assert not any("webhook" in r for r in statement["Resource"]), "the token has no webhook scope"
    assert policy["context"]["clientId"] == made["clientId"]

    submit = payload("submit-events.json")
    submit["requestContext"]["authorizer"] = {"lambda": policy["context"]}
    status, accepted = stack.http("submit-events", submit)
    assert status == 200 and accepted["jobId"], accepted

    # A token of another pool, and an expired one, are refused (401).
    _, elsewhere = moto_pool()
    for bad in (moto_token(elsewhere, made["clientId"], ["event.create"]),
                moto_token(issuer, made["clientId"], ["event.create"], expires_in=-60)):
        request["identitySource"] = [f"Bearer {bad}"]
        kind, refusal = checks.invoke(request)
        assert (kind, refusal.get("errorMessage")) == ("error", "Unauthorized"), refusal

    assert admin("remove", "--client-id", made["clientId"], pool=pool) == {"removed": made["clientId"]}
    assert all(c["clientId"] != made["clientId"] for c in admin("list", pool=pool))


def keys(*args, table):
    env = {**runtime_env("caliper-admin"), "AWS_ENDPOINT_URL": MOTO, "CALIPER_WEBHOOKS_TABLE": table}
    out = subprocess.run([str(DEBUG / "caliper-admin"), "keys", *args], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_an_api_key_made_with_caliper_admin_is_admitted_by_the_authorizer_until_revoked(stack):
    table = stack.resources["WebhooksTable"]
    made = keys("create", "--client", "openedx", "--scope", "event.create", "--name", "Open edX", table=table)
    key, secret = made["key"], made["secret"]
    assert (key["clientAppId"], key["scopes"], key["last_used_at"]) == ("openedx", ["event.create"], None), made

    checks = stack.function("authorize")
    request = payload("authorize.json")
    basic = base64.b64encode(f"{key['id']}:{secret}".encode()).decode()

    def ask(authorization):
        request["identitySource"] = [authorization]
        request["headers"]["authorization"] = authorization
        return checks.invoke(request)

    for authorization in (f"Bearer {secret}", f"Basic {basic}"):
        kind, policy = ask(authorization)
        assert kind == "response" and policy["policyDocument"]["Statement"][0]["Effect"] == "Allow", policy
        assert policy["context"]["clientId"] == "openedx", policy
    submit = payload("submit-events.json")
    submit["requestContext"]["authorizer"] = {"lambda": policy["context"]}
    status, accepted = stack.http("submit-events", submit)
    assert status == 200 and accepted["jobId"], accepted
    listed = keys("list", "--client", "openedx", table=table)["keys"]
    assert [k["id"] for k in listed] == [key["id"]] and listed[0]["last_used_at"], listed

    assert keys("revoke", "--id", key["id"], table=table) == {"revoked": key["id"]}
    for authorization in (f"Bearer {secret}", f"Basic {basic}", f"Bearer {secret[:-2]}xx"):
        kind, refusal = ask(authorization)
        assert (kind, refusal.get("errorMessage")) == ("error", "Unauthorized"), refusal
    checks.log.flush()
    assert secret not in checks.log_path.read_text(), "a key's secret never reaches the logs"


def api_event(method, route_key, path, body=None, params=None, caller=None, content_type="application/json"):
    """An HTTP API event as API Gateway hands it over: with the authorizer's context for `caller`
    ((client id, scope)), or none (a route without the authorizer)."""
    event = payload("clients-set.json")
    event.update(routeKey=route_key, rawPath=path, pathParameters=params or {}, body=body,
                 headers={"host": "api.example.com", **({"content-type": content_type} if content_type else {})})
    event["requestContext"].update(routeKey=route_key)
    event["requestContext"]["http"].update(method=method, path=path)
    if caller:
        event["requestContext"]["authorizer"] = {"lambda": {"clientId": caller[0], "scope": SCOPE + caller[1]}}
    else:
        del event["requestContext"]["authorizer"]
    return event


def test_canvas_reaches_the_store_through_the_connector_function_and_through_its_queue(stack):
    from test_canvas import Jwks, asset_accessed, envelope, logged_in

    jwks = Jwks()
    try:
        status, made = stack.http("clients", api_event(
            "POST", "POST /connectors", "/connectors", caller=("ops", "admin"),
            body=json.dumps({"kind": "canvas", "clientAppId": "canvas", "jwksUrl": jwks.url})))
        assert status == 201, made
        connector = made["connector"]

        def canvas_post(body):
            return stack.http("connector-events", api_event(
                "POST", "POST /connectors/canvas/{id}", connector["path"], body=body,
                params={"id": connector["id"]}, content_type="application/jwt"))

        posted = asset_accessed()
        status, answer = canvas_post(jwks.sign(2, envelope(posted)))
        assert status == 200 and answer["status"] == "success", answer
        status, refused = canvas_post(jwks.sign(3, envelope(asset_accessed())))
        assert status == 401, refused
        assert jwks.fetches == 1, "the keys are kept across invocations"
        status, refused = canvas_post(json.dumps(envelope(asset_accessed())))
        assert status == 401, refused

        # What Canvas writes to its queue: unsigned envelopes, and whatever else arrives.
        queued = logged_in()
        sqs = aws("sqs")
        sqs.send_message(QueueUrl=stack.resources["CanvasQueue"], MessageBody=json.dumps(envelope(queued)))
        sqs.send_message(QueueUrl=stack.resources["CanvasQueue"], MessageBody="not an envelope")
        verdict = stack.trigger("CanvasQueue", "canvas-queue")
        assert verdict == {"batchItemFailures": []}, verdict

        # process-events stores the connector's job and the queue's, as any submission's.
        stored = set()
        deadline = time.monotonic() + 60
        while stored != {posted["id"], queued["id"]} and time.monotonic() < deadline:
            assert stack.trigger("EventsQueue", "process-events") == {"batchItemFailures": []}
            for event in (posted, queued):
                status, got = stack.http("query-events", api_event(
                    "GET", "GET /caliper/events/{externalId}", "/caliper/events/" + event["id"],
                    params={"externalId": event["id"]}, caller=("canvas", "event.create"), content_type=None))
                if status == 200:
                    stored.add(event["id"])
                    if event is posted:
                        assert {p["path"] for p in got["event"]["problems"]} >= {"/object/type", "/request_id"}, got
        assert stored == {posted["id"], queued["id"]}

        status, kept = stack.http("quarantine", api_event(
            "GET", "GET /quarantine", "/quarantine", caller=("canvas", "event.create"), content_type=None))
        assert status == 200, kept
        assert [(i["body"], i["source"]) for i in kept["items"]] == [("not an envelope", "canvas-queue")], kept
    finally:
        jwks.close()


def run_steps(stack, queue, binary, read):
    """Triggers `binary` on `queue` a step at a time, as the event source mapping would, until
    `read()` (the job's answer) says it finished."""
    for _ in range(50):
        job = read()
        if job["state"] in ("completed", "failed"):
            return job
        verdict = stack.trigger(queue, binary)
        assert verdict == {"batchItemFailures": []}, verdict
    raise AssertionError(f"{binary} did not finish in 50 steps")


def test_an_export_and_an_erasure_go_through_the_binaries_alone(stack):
    status, accepted = stack.http("submit-events", payload("submit-events.json"))
    assert status == 200, accepted
    assert stack.trigger("EventsQueue", "process-events") == {"batchItemFailures": []}
    sent = json.loads(payload("submit-events.json")["body"])["data"]
    caller = ("example-client", "event.create")

    status, started = stack.http("exports", api_event("POST", "POST /exports", "/exports", caller=caller,
                                                      body=json.dumps({"format": "ndjson"})))
    assert status == 202, started
    export_id = started["export"]["id"]
    read = lambda: stack.http("exports", api_event("GET", "GET /exports/{id}", f"/exports/{export_id}",
                                                   params={"id": export_id}, caller=caller))[1]["export"]
    export = run_steps(stack, "ExportQueue", "export-events", read)
    assert export["state"] == "completed" and export["events"] == len(sent), export
    lines = []
    for file in export["files"]:
        # A presigned URL of the stack's bucket (moto's here, behind a function's proxy), fetched
        # without credentials.
        assert at_moto(stack, file["url"]) and "X-Amz-Signature=" in file["url"], file
        with urllib.request.urlopen(file["url"], timeout=30) as response:
            lines += [json.loads(line) for line in gzip.decompress(response.read()).decode().splitlines()]
    assert sorted(e["externalId"] for e in lines) == sorted(e["id"] for e in sent)
    # The API's file route sends a reader to the same place.
    first = export["files"][0]
    partition, name = first["name"].split("/")
    status_code, answer = stack.function("exports").invoke(api_event(
        "GET", "GET /exports/{id}/{partition}/{file}", f"/exports/{export_id}/{first['name']}",
        params={"id": export_id, "partition": partition, "file": name}, caller=caller))
    assert answer["statusCode"] == 302 and at_moto(stack, answer["headers"]["location"]), answer

    learner = sent[0]["actor"]["id"] if isinstance(sent[0]["actor"], dict) else sent[0]["actor"]
    admin = ("ops", "admin")
    status, started = stack.http("erasures", api_event("POST", "POST /erasures", "/erasures", caller=admin,
                                                       body=json.dumps({"actorId": learner})))
    assert status == 202, started
    erasure_id = started["erasure"]["id"]
    read = lambda: stack.http("erasures", api_event("GET", "GET /erasures/{id}", f"/erasures/{erasure_id}",
                                                    params={"id": erasure_id}, caller=admin))[1]["erasure"]
    erasure = run_steps(stack, "ErasureQueue", "erase-events", read)
    erased = [e for e in sent if learner in json.dumps(e["actor"])]
    assert (erasure["state"], erasure["events"]) == ("completed", len(erased)), erasure
    assert learner not in json.dumps(erasure)
    status, listed = stack.http("query-events", payload("query-events-list.json"))
    assert status == 200 and not {e["externalId"] for e in listed["events"]} & {e["id"] for e in erased}, listed


def test_no_function_asks_aws_for_more_than_its_policy_grants():
    """Every request each function made in the tests above, as IAM judges it (action, resource),
    is granted by its policy in the template (moto grants everything; AWS would refuse)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("template_tests", ROOT / "tests" / "template" / "test_template.py")
    policies = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(policies)
    if not ASKED:
        pytest.skip("judges what the tests above asked for: run the module")
    # The functions that read and write events were all run.
    assert {"submit-events", "process-events", "query-events", "export-events", "erase-events",
            "deliver-webhooks"} <= set(ASKED), sorted(ASKED)
    refused = {binary: sorted(pairs - policies.PERMISSIONS[binary]) for binary, pairs in ASKED.items()
               if not pairs <= policies.PERMISSIONS[binary]}
    assert not refused, refused
