"""caliper-local as the IdP and as API Gateway's JWT authorizer: Cognito's token endpoint, RS256
tokens checked on every route (401 without a good one, 403 without the route's scope), clients kept
apart, and tokens of a remote JWKS (another IdP, moto's Cognito) verified instead."""
import base64
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import pytest

from conftest import CLIENTS, BINARY, CLIENT_FLAGS, SCOPE, Local

EXAMPLE = json.loads((BINARY.parents[2] / "events" / "envelope.json").read_text())


def routes():
    return json.loads(subprocess.run([str(BINARY), "--routes"], check=True, capture_output=True, text=True).stdout)


def claims_of(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def concrete(path):
    return (path.replace("{jobId}", str(uuid.uuid4())).replace("{externalId}", "urn%3Auuid%3A" + str(uuid.uuid4()))
            .replace("{id}", str(uuid.uuid4())).replace("{webhookId}", str(uuid.uuid4())))


def envelope():
    events = [dict(event, id=f"urn:uuid:{uuid.uuid4()}") for event in EXAMPLE["data"]]
    return dict(EXAMPLE, data=events)


def test_the_token_endpoint_answers_as_cognito_does(embedded):
    status, answer = embedded.token("e2e-app")
    assert status == 200, answer
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    claims = claims_of(answer["access_token"])
    assert claims["iss"] == embedded.url and claims["client_id"] == "e2e-app" == claims["sub"]
    assert claims["token_use"] == "access" and claims["scope"] == SCOPE + "event.create"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"] != claims_of(embedded.token("e2e-app")[1]["access_token"])["jti"]

    header = json.loads(base64.urlsafe_b64decode(answer["access_token"].split(".")[0] + "=="))
    with urllib.request.urlopen(embedded.url + "/.well-known/jwks.json") as response:
        keys = json.load(response)["keys"]
    assert header == {"alg": "RS256", "kid": keys[0]["kid"]} and keys[0]["kty"] == "RSA"
    with urllib.request.urlopen(embedded.url + "/.well-known/openid-configuration") as response:
        discovery = json.load(response)
    assert discovery["token_endpoint"] == embedded.url + "/oauth2/token"
    assert discovery["jwks_uri"] == embedded.url + "/.well-known/jwks.json"

    # A narrower scope on request; a scope the client does not have is refused.
    status, narrow = embedded.token("e2e-webhooks", scope=SCOPE + "webhook.readonly")
    assert status == 200 and claims_of(narrow["access_token"])["scope"] == SCOPE + "webhook.readonly"
    status, error = embedded.token("e2e-app", scope=SCOPE + "admin")
    assert (status, error["error"]) == (400, "invalid_scope") and "admin" in error["error_description"]


@pytest.mark.parametrize(
    "client, secret, form, status, error",
    [
        ("e2e-app", "wrong", {}, 401, "invalid_client"),
        ("nobody", "app-secret-0f3a9c2b", {}, 401, "invalid_client"),
        ("e2e-app", None, {"grant_type": "password"}, 400, "unsupported_grant_type"),
        ("e2e-app", None, {"grant_type": ""}, 400, "unsupported_grant_type"),
    ],
)
def test_the_token_endpoint_refuses_bad_requests(embedded, client, secret, form, status, error):
    got_status, answer = embedded.token(client, secret, **form)
    assert (got_status, answer["error"]) == (status, error), answer
    assert answer["error_description"]


def test_the_token_endpoint_needs_basic_credentials_and_a_form(embedded):
    request = urllib.request.Request(
        embedded.url + "/oauth2/token", data=b"grant_type=client_credentials", method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    status, answer = embedded.call(request)
    assert (status, answer["error"]) == (401, "invalid_client")
    basic = base64.b64encode(b"e2e-app:app-secret-0f3a9c2b").decode()
    request = urllib.request.Request(
        embedded.url + "/oauth2/token", data=b'{"grant_type": "client_credentials"}', method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Basic {basic}"},
    )
    status, answer = embedded.call(request)
    assert (status, answer["error"]) == (400, "invalid_request")


def raw_exchange(local, head):
    """Sends `head` (request line and headers, no body) and reads the answer's status line. The
    socket's timeout bounds a server that would wait for a body it must not read; it is no time
    limit on the answer."""
    import socket
    with socket.create_connection(("127.0.0.1", local.port), timeout=30) as s:
        s.sendall(head.encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer.split(b"\r\n", 1)[0].decode()


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(embedded):
    """A client that waits for `100 Continue` is refused at once and sends nothing (one that sends
    anyway reads the 413 too: see test_hostile)."""
    basic = base64.b64encode(b"e2e-app:app-secret-0f3a9c2b").decode()
    # The unauthenticated token endpoint takes a few KiB, whatever the body's route limit.
    status_line = raw_exchange(embedded, "POST /oauth2/token HTTP/1.1\r\nHost: x\r\n"
                               f"Authorization: Basic {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                               "Expect: 100-continue\r\nContent-Length: 2000000\r\n\r\n")
    assert " 413 " in status_line, status_line
    token = embedded.access_token()
    status_line = raw_exchange(embedded, "POST /caliper/event HTTP/1.1\r\nHost: x\r\n"
                               f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                               "Expect: 100-continue\r\nContent-Length: 60000000\r\n\r\n")
    assert " 413 " in status_line, status_line
    # A body that is sent and too large for the token endpoint is refused too, in its error shape.
    request = urllib.request.Request(
        embedded.url + "/oauth2/token", data=b"grant_type=client_credentials&scope=" + b"x" * 8000, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
    )
    status, answer = embedded.call(request)
    assert (status, answer["error"]) == (413, "invalid_request"), answer


def test_scheme_names_are_read_in_any_case(embedded):
    basic = base64.b64encode(b"e2e-app:app-secret-0f3a9c2b").decode()
    request = urllib.request.Request(
        embedded.url + "/oauth2/token", data=b"grant_type=client_credentials", method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"basic {basic}"},
    )
    status, answer = embedded.call(request)
    assert status == 200, answer
    token = answer["access_token"]
    request = urllib.request.Request(embedded.url + "/caliper/event", headers={"Authorization": f"BEARER {token}"})
    status, body = embedded.call(request)
    assert status == 200, body


def test_every_route_wants_a_valid_token_and_its_scope(embedded):
    app_token = embedded.access_token("e2e-app")
    header, claims, signature = app_token.split(".")
    forged_claims = dict(claims_of(app_token), scope=SCOPE + "admin")
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("="), signature])
    for route in routes():
        method, path = route["method"], concrete(route["path"])
        body = envelope() if method == "POST" else None
        if route["access"] == "signature":
            # A connector's path: the body is the credential (here an unsigned connector's).
            status, made = embedded.request("POST", "/connectors", {"kind": "canvas", "clientAppId": "e2e-app",
                                                                    "signed": False}, client="e2e-admin")
            assert status == 201, made
            path = route["path"].replace("{id}", made["connector"]["id"])
            assert embedded.request(method, path, body, token="")[0] == 200, f"{path} takes its body"
            continue
        if not route["scopes"]:
            assert embedded.request(method, path, body, token="")[0] == 200, f"{path} is public"
            continue
        for token, why in [("", "No access token"), ("not-a-jwt", "malformed"), (forged, "signature does not verify")]:
            status, answer = embedded.request(method, path, body, token=token)
            assert status == 401, (method, path, token[:10], answer)
            assert answer["status"] == "error" and why in answer["message"], answer
            assert answer["errors"][0]["path"] == "/headers/authorization"
        for client, (_, scopes) in CLIENTS.items():
            admitted = any(SCOPE + scope in route["scopes"] for scope in scopes.split(","))
            status, answer = embedded.request(method, path, body, client=client)
            if admitted:
                assert status not in (401, 403), (method, path, client, answer)
            else:
                assert status == 403, (method, path, client, answer)
                assert answer["status"] == "error" and route["scopes"][0] in answer["message"], answer


def test_unknown_paths_are_404_before_any_token_is_asked_for(embedded):
    status, answer = embedded.request("GET", "/nowhere", token="")
    assert status == 404 and answer["status"] == "error"


def test_a_client_sees_only_its_own_jobs_and_events_and_admin_sees_all(embedded):
    sent = envelope()
    status, reply = embedded.request("POST", "/caliper/event", sent, client="e2e-app")
    assert status == 200, reply
    job = embedded.wait_for_job(reply["jobId"], client="e2e-app")
    assert job["state"] == "completed", job
    ids = [event["id"] for event in sent["data"]]

    for client, sees in [("e2e-app", True), ("e2e-other", False), ("e2e-admin", True)]:
        status, answer = embedded.request("GET", f"/jobs/{reply['jobId']}/status", client=client)
        assert status == (200 if sees else 404), (client, answer)
        status, listing = embedded.request("GET", "/caliper/events?limit=1000", client=client)
        assert status == 200
        listed = {event["externalId"] for event in listing["events"]}
        assert (set(ids) <= listed) == sees and (not listed & set(ids)) == (not sees), client
        for external in ids:
            status, answer = embedded.request("GET", "/caliper/events/" + urllib.parse.quote(external, safe=""), client=client)
            assert status == (200 if sees else 404), (client, answer)
            if sees:
                assert answer["event"]["clientAppId"] == "e2e-app"


def test_an_expired_token_is_refused(tmp_path):
    local = Local(["--data-dir", str(tmp_path), "--token-seconds", "2", *CLIENT_FLAGS], dict(os.environ)).start()
    try:
        token = local.access_token("e2e-app")
        assert local.request("GET", "/caliper/event", token=token)[0] == 200
        time.sleep(3.1)
        status, answer = local.request("GET", "/caliper/event", token=token)
        assert status == 401 and "expired" in answer["message"], answer
    finally:
        local.stop()


def test_a_token_of_another_key_or_a_removed_client_is_refused(embedded, tmp_path):
    other = Local(["--data-dir", str(tmp_path / "other"), *CLIENT_FLAGS], dict(os.environ)).start()
    try:
        status, answer = embedded.request("GET", "/caliper/event", token=other.access_token("e2e-app"))
        assert status == 401, answer
    finally:
        other.stop()
    # The same key and address, but e2e-other is no longer a client: its token no longer opens anything.
    token = embedded.access_token("e2e-other")
    pairs = zip(embedded.args[::2], embedded.args[1::2])
    embedded.args = [arg for pair in pairs if not pair[1].startswith("e2e-other:") for arg in pair]
    embedded.restart()
    assert embedded.request("GET", "/caliper/event", client="e2e-app")[0] == 200
    status, answer = embedded.request("GET", "/caliper/event", token=token)
    assert status == 401 and "e2e-other" in answer["message"], answer


def test_with_no_clients_a_development_client_is_made_kept_and_printed_once(tmp_path):
    local = Local(["--data-dir", str(tmp_path)], dict(os.environ)).start()
    try:
        saved = json.loads((tmp_path / "idp" / "development-client.json").read_text())
        assert saved["client_id"] == "local-client"
        log = local.args_log().read_text()
        assert re.search(rf"client_secret\S*{re.escape(saved['client_secret'])}", log), "the secret is printed"
        status, answer = local.token("local-client", saved["client_secret"])
        assert status == 200
        assert set(claims_of(answer["access_token"])["scope"].split()) == {SCOPE + s for s in ("admin", "event.create", "webhook.create", "webhook.readonly")}
        token = answer["access_token"]
        # A backup restored carelessly: the signing key readable by every user of the machine.
        key = tmp_path / "idp" / "signing-key.der"
        key.chmod(0o644)
        printed = local.args_log().read_text().count(saved["client_secret"])
        local.restart()
        assert local.request("GET", "/caliper/event", token=token)[0] == 200, "a token outlives a restart"
        assert json.loads((tmp_path / "idp" / "development-client.json").read_text()) == saved
        log = local.args_log().read_text()
        assert log.count(saved["client_secret"]) == printed, "the secret is printed once, when made"
        assert key.stat().st_mode & 0o777 == 0o600, "held to its owner on every start"
        assert "a secret file was open to other users" in log and str(key) in log
    finally:
        local.stop()


def test_tokens_of_a_remote_jwks_are_verified_instead(embedded, tmp_path):
    verifying = Local(
        ["--data-dir", str(tmp_path), "--jwks-url", embedded.url + "/.well-known/jwks.json"], dict(os.environ)
    ).start()
    try:
        token = embedded.access_token("e2e-app")
        status, reply = verifying.request("POST", "/caliper/event", envelope(), token=token)
        assert status == 200, reply
        assert verifying.request("GET", "/caliper/event", token=embedded.access_token("e2e-webhooks"))[0] == 403
        assert verifying.request("GET", "/caliper/event", token="")[0] == 401
        status, answer = verifying.token("e2e-app")
        assert status == 404, "a verifying server is not an IdP"
    finally:
        verifying.stop()


def test_tokens_of_a_cognito_user_pool_are_verified_by_its_jwks(tmp_path):
    moto = os.environ.get("CALIPER_TEST_MOTO_URL")
    assert moto, "CALIPER_TEST_MOTO_URL is not set: run tests/run.sh, which starts moto_server"
    cognito = boto3.client("cognito-idp", endpoint_url=moto, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
    pool = cognito.create_user_pool(PoolName=f"e2e-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="e2e")["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="reader", TemporaryPassword="Passw0rd!x")
    cognito.admin_set_user_password(UserPoolId=pool, Username="reader", Password="Passw0rd!x", Permanent=True)
    token = cognito.admin_initiate_auth(
        UserPoolId=pool, ClientId=client, AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": "reader", "PASSWORD": "Passw0rd!x"},
    )["AuthenticationResult"]["AccessToken"]
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert claims_of(token)["iss"] == issuer

    verifying = Local(
        ["--data-dir", str(tmp_path), "--jwks-url", f"{moto}/{pool}/.well-known/jwks.json", "--issuer", issuer],
        dict(os.environ),
    ).start()
    try:
        # Moto's tokens carry only Cognito's own scope: verified (not 401), but not allowed (403).
        status, answer = verifying.request("GET", "/caliper/event", token=token)
        assert status == 403, answer
        wrong_issuer = Local(
            ["--data-dir", str(tmp_path / "second"), "--jwks-url", f"{moto}/{pool}/.well-known/jwks.json"], dict(os.environ)
        ).start()
        try:
            status, answer = wrong_issuer.request("GET", "/caliper/event", token=token)
            assert status == 401 and "not issued by" in answer["message"], answer
        finally:
            wrong_issuer.stop()
    finally:
        verifying.stop()


def test_clients_come_from_a_file_only_its_owner_can_read(tmp_path):
    clients = tmp_path / "clients"
    clients.write_text("# id:secret:scopes\nfile-app:file-secret:event.create\n")
    clients.chmod(0o644)
    refused = subprocess.run([str(BINARY), "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0",
                              "--clients-file", str(clients)], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "chmod 600" in refused.stderr, refused.stderr
    clients.chmod(0o600)
    local = Local(["--data-dir", str(tmp_path / "data"), "--clients-file", str(clients)], dict(os.environ)).start()
    try:
        basic = base64.b64encode(b"file-app:file-secret").decode()
        request = urllib.request.Request(
            local.url + "/oauth2/token", data=b"grant_type=client_credentials", method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
        )
        status, answer = local.call(request)
        assert status == 200 and answer["access_token"], answer
    finally:
        local.stop()
