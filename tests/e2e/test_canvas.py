"""Canvas as Canvas delivers, through caliper-local on both backends: live events (Caliper 1.1, one
per POST, no Authorization header, any Content-Type) whose body is a JWT signed with one of the
keys of a JWKS the producer publishes (here a server of the test's own on 127.0.0.1, publishing
the previous, current and next keys). What verifies is answered 200 and stored (flagged where
Caliper says so) or quarantined; what does not stores nothing.

The envelopes are written from the Caliper 1.1 text and the contract's account of Canvas's output:
an asset access whose object is a bare `Entity`, and fields beside `extensions`."""
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwk, jwt

from conftest import ROOT, start_local

V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
CANVAS = "https://canvas.example.edu"
CLIENT = "e2e-app"
# Canvas's content types, and those a misconfigured proxy may give.
CONTENT_TYPES = ["application/jwt", "text/plain", "application/json", "application/x-www-form-urlencoded", None]


class Jwks:
    """A producer's published keys: four made, three published at a time (previous, current,
    next), counting fetches."""

    def __init__(self):
        self.keys = [jwk.RSAKey.generate_key(2048, parameters={"kid": f"canvas-{n}-{uuid.uuid4().hex[:6]}"}, private=True)
                     for n in range(4)]
        self.published, self.fetches = [0, 1, 2], 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                jwks.fetches += 1
                body = json.dumps({"keys": [jwks.keys[k].as_dict(private=False) for k in jwks.published]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"

    def kid(self, key):
        return self.keys[key].kid

    def sign(self, key, envelope, expires_in=300, **claims):
        now = int(time.time())
        payload = {"iss": CANVAS, "iat": now, "exp": now + expires_in, "jti": str(uuid.uuid4()), **envelope, **claims}
        return jwt.encode({"alg": "RS256", "kid": self.kid(key)}, payload, self.keys[key])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def asset_accessed():
    """Canvas's asset_accessed: a NavigationEvent whose object is a bare Entity (1.1 wants a
    DigitalResource), with fields beside `extensions` (1.1 has none there)."""
    return {
        "@context": V1P1,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": "NavigationEvent",
        "actor": {"id": "urn:instructure:canvas:user:21070000000000001", "type": "Person"},
        "action": "NavigatedTo",
        "object": {"id": "urn:instructure:canvas:attachment:21070000000000005", "type": "Entity", "name": "syllabus.pdf",
                   "extensions": {"com.instructure.canvas": {"asset_name": "syllabus.pdf", "asset_type": "attachment"}}},
        "eventTime": "2026-12-01T10:15:00.000Z",
        "edApp": {"id": CANVAS, "type": "SoftwareApplication"},
        "request_id": str(uuid.uuid4()),
        "extensions": {"com.instructure.canvas": {"hostname": "canvas.example.edu", "user_login": "learner1"}},
    }


def logged_in():
    """A 1.1 SessionEvent as the text describes it: nothing to flag."""
    return {
        "@context": V1P1,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": "SessionEvent",
        "actor": {"id": "urn:instructure:canvas:user:21070000000000001", "type": "Person"},
        "action": "LoggedIn",
        "object": {"id": CANVAS, "type": "SoftwareApplication"},
        "eventTime": "2026-12-01T10:14:00.000Z",
    }


def envelope(event):
    return {"sensor": CANVAS, "sendTime": "2026-12-01T10:15:01.000Z", "dataVersion": V1P1, "data": [event]}


def post(local, path, body, content_type="application/jwt"):
    """POST as Canvas does: no Authorization header at all."""
    request = urllib.request.Request(local.url + path, data=body.encode(), method="POST")
    if content_type:
        request.add_header("Content-Type", content_type)
    return local.call(request)


def stored(local, external_id):
    status, body = local.request("GET", "/caliper/events/" + urllib.parse.quote(external_id, safe=""), client=CLIENT)
    return body["event"] if status == 200 else None


def count(local):
    status, body = local.request("GET", "/caliper/events?limit=1000", client=CLIENT)
    assert status == 200, body
    return len(body["events"])


@pytest.fixture
def jwks():
    published = Jwks()
    yield published
    published.close()


@pytest.fixture(params=["embedded", "aws"])
def local(request, tmp_path):
    # The JWKS is on this machine: the switch that lets webhooks reach private addresses.
    server = start_local(request.param, tmp_path, "--allow-private-webhooks")
    yield server
    server.stop()


def connector(local, **fields):
    status, made = local.request("POST", "/connectors", {"kind": "canvas", "clientAppId": CLIENT, **fields},
                                 client="e2e-admin")
    assert status == 201, made
    return made["connector"]


def test_signed_live_events_are_taken_with_any_key_published_and_any_content_type(local, jwks):
    path = connector(local, jwksUrl=jwks.url)["path"]
    sent = []
    for key in range(3):
        for content_type in CONTENT_TYPES:
            event = asset_accessed()
            status, answer = post(local, path, jwks.sign(key, envelope(event)), content_type)
            assert status == 200 and answer["status"] == "success", (key, content_type, answer)
            sent.append((event, answer["jobId"]))
    assert jwks.fetches == 1, "the published keys are kept"

    for event, job_id in sent:
        job = local.wait_for_job(job_id, client=CLIENT)
        assert job["state"] == "completed", job
        kept = stored(local, event["id"])
        assert kept is not None, event["id"]
        # Flagged, as Caliper says: the object is no DigitalResource, `request_id` no 1.1 property.
        paths = {p["path"] for p in kept["problems"]}
        assert any(p.startswith("/object") for p in paths) and "/request_id" in paths, kept["problems"]
        assert kept["sensor"] == CANVAS and kept["dataVersion"] == V1P1
        # The JWT's own claims are the signature's, not the envelope's: no problem of theirs.
        assert not {"/iss", "/iat", "/exp", "/jti"} & paths, kept["problems"]

    event = logged_in()
    status, answer = post(local, path, jwks.sign(1, envelope(event)))
    assert status == 200, answer
    assert local.wait_for_job(answer["jobId"], client=CLIENT)["state"] == "completed"
    # Conformant: stored without problems (the field is left out when there are none).
    assert stored(local, event["id"]).get("problems", []) == []


def test_forged_edited_expired_and_unsigned_bodies_store_nothing(local, jwks):
    path = connector(local, jwksUrl=jwks.url)["path"]
    before = count(local)
    good = jwks.sign(0, envelope(asset_accessed()))
    header, claims, signature = good.split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(claims + "=="))
    forged_claims["data"][0]["actor"]["id"] = "urn:instructure:canvas:user:somebody-else"
    hs256_header = b64(json.dumps({"alg": "HS256", "kid": jwks.kid(0)}).encode())
    hs256_input = f"{hs256_header}.{claims}"
    public_n = jwks.keys[0].as_dict(private=False)["n"].encode()
    bad = {
        "edited after signing": f"{header}.{b64(json.dumps(forged_claims).encode())}.{signature}",
        "signed with a key never published": jwks.sign(3, envelope(asset_accessed())),
        "expired": jwks.sign(0, envelope(asset_accessed()), expires_in=-120),
        "unsigned": json.dumps(envelope(asset_accessed())),
        "alg none": f"{b64(json.dumps({'alg': 'none', 'kid': jwks.kid(0)}).encode())}.{claims}.",
        "HS256 keyed with the public key": f"{hs256_input}.{b64(hmac.new(public_n, hs256_input.encode(), hashlib.sha256).digest())}",
    }
    for what, body in bad.items():
        status, answer = post(local, path, body)
        assert status == 401, (what, answer)
        assert answer["status"] == "error" and answer["errors"][0]["path"] == "/body", (what, answer)
    assert jwks.fetches == 1, "an unknown key fetched the set once, not once per body"
    # Nothing of them is stored, nor queued to be.
    status, answer = post(local, path, good)
    assert status == 200, answer
    assert local.wait_for_job(answer["jobId"], client=CLIENT)["state"] == "completed"
    assert count(local) == before + 1

    # A deleted connector's path takes nothing, however well signed.
    connector_id = path.rsplit("/", 1)[1]
    status, _ = local.request("DELETE", f"/connectors/{connector_id}", client="e2e-admin")
    assert status == 200
    status, answer = post(local, path, jwks.sign(0, envelope(asset_accessed())))
    assert status == 404, answer


def test_what_the_clients_policy_refuses_is_quarantined_and_answered_200(local, jwks):
    path = connector(local, jwksUrl=jwks.url)["path"]
    status, _ = local.request("PUT", f"/clients/{CLIENT}", {"validation": "strict"}, client="e2e-admin")
    assert status == 200
    event = asset_accessed()
    status, answer = post(local, path, jwks.sign(2, envelope(event)))
    assert status == 200 and answer["status"] == "quarantined", answer
    assert stored(local, event["id"]) is None
    status, listed = local.request("GET", "/quarantine", client=CLIENT)
    assert status == 200, listed
    item = next(i for i in listed["items"] if i["id"] == answer["quarantineIds"][0])
    assert item["body"] == event and item["source"] == f"connector:{path.rsplit('/', 1)[1]}", item
    assert "strict" in item["reasons"][0]["message"], item

    # Replayed under a policy that takes it: stored, flagged.
    status, _ = local.request("PUT", f"/clients/{CLIENT}", {"validation": "flag"}, client="e2e-admin")
    assert status == 200
    status, replayed = local.request("POST", f"/quarantine/{item['id']}/replay", client=CLIENT)
    assert status == 200, replayed
    assert local.wait_for_job(replayed["jobId"], client=CLIENT)["state"] == "completed"
    assert stored(local, event["id"])["problems"]


def test_a_signed_number_storage_would_change_is_kept_as_sent(local, jwks):
    # Signed claims are read by the same parser as any body: a number that would not be stored as
    # sent is not stored changed; the body is quarantined as its text, with the number's pointer.
    path = connector(local, jwksUrl=jwks.url)["path"]
    event = asset_accessed()
    event["extensions"] = {"big": 123456789012345678901234567890123456789}
    status, answer = post(local, path, jwks.sign(1, envelope(event)))
    assert status == 200 and answer["status"] == "quarantined", answer
    assert stored(local, event["id"]) is None
    status, listed = local.request("GET", "/quarantine", client=CLIENT)
    item = next(i for i in listed["items"] if i["id"] == answer["quarantineIds"][0])
    assert "123456789012345678901234567890123456789" in item["body"], item
    assert item["reasons"][0]["path"] == "/data/0/extensions/big", item


def test_an_unsigned_connector_takes_json_and_keeps_what_is_not(local):
    made = connector(local, signed=False)
    assert made["signed"] is False and made["jwksUrl"] is None
    event = logged_in()
    status, answer = post(local, made["path"], json.dumps(envelope(event)), "application/json")
    assert status == 200 and answer["status"] == "success", answer
    assert local.wait_for_job(answer["jobId"], client=CLIENT)["state"] == "completed"
    assert stored(local, event["id"]) is not None

    status, answer = post(local, made["path"], "this is not JSON", "text/plain")
    assert status == 200 and answer["status"] == "quarantined", answer
    status, listed = local.request("GET", "/quarantine", client=CLIENT)
    assert any(i["body"] == "this is not JSON" for i in listed["items"]), listed


def test_connectors_are_for_admins_and_their_keys_obey_the_webhook_target_rules(tmp_path):
    server = start_local("embedded", tmp_path)
    try:
        status, refused = server.request("POST", "/connectors", {"kind": "canvas", "clientAppId": CLIENT,
                                                                 "jwksUrl": "https://canvas.example/jwks"})
        assert status == 403, refused
        # Without the switch, keys are fetched from public https addresses only.
        status, refused = server.request("POST", "/connectors", {"kind": "canvas", "clientAppId": CLIENT,
                                                                 "jwksUrl": "http://127.0.0.1:9/jwks"},
                                         client="e2e-admin")
        assert status == 400 and refused["errors"][0]["path"] == "/jwksUrl", refused
        made = connector(server, jwksUrl="https://canvas.example/jwks")
        status, listed = server.request("GET", "/connectors", client="e2e-admin")
        assert status == 200 and [c["id"] for c in listed["connectors"]] == [made["id"]], listed
    finally:
        server.stop()


def test_the_readmes_canvas_setup_runs_as_written(tmp_path, jwks):
    readme = (ROOT / "shared" / "http" / "README.md").read_text()
    section = readme.split("### Connectors (Canvas)", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    server = start_local("embedded", tmp_path, "--allow-private-webhooks")
    try:
        env = {**os.environ, "API": server.url, "ADMIN_TOKEN": server.access_token("e2e-admin"), "CANVAS_JWKS": jwks.url}
        run = subprocess.run(["bash", "-e"], input=block, text=True, capture_output=True, env=env, timeout=120)
        assert run.returncode == 0, run.stderr
        url = run.stdout.strip().removeprefix("Canvas subscription URL: ")
        assert url.startswith(server.url + "/connectors/canvas/"), run.stdout
        # What Canvas then does with that URL.
        event = asset_accessed()
        request = urllib.request.Request(url, data=jwks.sign(1, envelope(event)).encode(), method="POST")
        status, answer = server.call(request)
        assert status == 200, answer
        job = server.wait_for_job(answer["jobId"], client="e2e-admin")
        assert job["state"] == "completed" and job["returnValue"]["results"][0]["externalId"] == event["id"], job
    finally:
        server.stop()


def test_refused_bodies_are_slowed_per_address_as_wrong_secrets_are(tmp_path, jwks):
    server = start_local("embedded", tmp_path, "--allow-private-webhooks", "--auth-failures-per-minute", "3")
    try:
        path = connector(server, jwksUrl=jwks.url)["path"]
        forged = jwks.sign(3, envelope(asset_accessed()))
        answers = [post(server, path, forged)[0] for _ in range(4)]
        assert answers == [401, 401, 401, 429], answers
        # A signature cannot be guessed, so Canvas's own bodies are checked all the same and
        # stored: forgeries from its address cannot lock it out. Forgeries get 429 meanwhile.
        status, answer = post(server, path, jwks.sign(0, envelope(asset_accessed())))
        assert status == 200, answer
        request = urllib.request.Request(server.url + path, data=forged.encode(), method="POST")
        try:
            urllib.request.urlopen(request, timeout=30)
            raise AssertionError("a forgery was served")
        except urllib.error.HTTPError as error:
            assert error.code == 429 and int(error.headers["Retry-After"]) > 0
        # Posting to a path with no connector counts against that path only: a producer still
        # posting to a deleted connector does not slow its others.
        other = tmp_path / "other"
        other_server = start_local("embedded", other, "--allow-private-webhooks", "--auth-failures-per-minute", "3")
        try:
            live = connector(other_server, jwksUrl=jwks.url)["path"]
            gone = [post(other_server, "/connectors/canvas/" + "0" * 32, "x")[0] for _ in range(4)]
            assert gone == [404, 404, 404, 429], gone
            status, answer = post(other_server, live, jwks.sign(0, envelope(asset_accessed())))
            assert status == 200, answer
        finally:
            other_server.stop()
    finally:
        server.stop()
