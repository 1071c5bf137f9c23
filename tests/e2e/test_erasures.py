"""Erasure through caliper-local on both backends: a learner spread over clients, the listing's
indexes and the quarantine is gone from every answer and from exports made afterwards, the
receipt names no one, the same erasure again removes nothing, and one client's erasure leaves the
others' events."""
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import start_local

V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"
SENSOR = "https://example.edu/sensors/erasure"


def tool_use(actor, time_="2024-05-01T08:00:00.000Z"):
    return {
        "@context": V1P2, "id": f"urn:uuid:{uuid.uuid4()}", "type": "ToolUseEvent", "profile": "ToolUseProfile",
        "actor": actor, "action": "Used", "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
        "eventTime": time_, "edApp": "https://example.edu",
    }


def send(local, client, events):
    body = {"sensor": SENSOR, "sendTime": "2024-06-01T00:00:00.000Z", "dataVersion": V1P2, "data": events}
    status, reply = local.request("POST", "/caliper/event", body, client=client)
    assert status == 200, reply
    return local.wait_for_job(reply["jobId"], client=client)


def erase(local, body):
    status, started = local.request("POST", "/erasures", body, client="e2e-admin")
    assert status == 202 and started["erasure"]["state"] == "waiting", started
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, read = local.request("GET", f"/erasures/{started['erasure']['id']}", client="e2e-admin")
        assert status == 200, read
        if read["erasure"]["state"] in ("completed", "failed"):
            return read["erasure"]
        time.sleep(0.05)
    raise AssertionError("the erasure did not finish in 60 s")


def until(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {seconds} s"
        time.sleep(0.05)


def ids(local, path, client="e2e-admin"):
    status, page = local.request("GET", path, client=client)
    assert status == 200, page
    return {e["externalId"] for e in page["events"]}


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_an_erased_learner_is_gone_from_every_answer_and_the_receipt_names_no_one(backend, request):
    local = request.getfixturevalue(backend)
    learner = f"https://example.edu/users/{uuid.uuid4().hex[:8]}"
    email = f"{uuid.uuid4().hex[:8]}@example.edu"
    other = {"id": "https://example.edu/users/someone-else", "type": "Person"}
    as_iri = tool_use(learner)
    as_entity = tool_use({"id": learner, "type": "Person", "extensions": {"email": email.upper()}})
    theirs = tool_use(other)
    send(local, "e2e-app", [as_iri, as_entity, theirs])
    elsewhere = tool_use({"id": learner, "type": "Person"}, "2024-05-02T08:00:00.000Z")
    send(local, "e2e-other", [elsewhere])
    # What flag cannot store (no usable time) waits in quarantine, the learner's and another's.
    status, _ = local.request("PUT", "/clients/e2e-app", {"validation": "flag"}, client="e2e-admin")
    assert status == 200
    job = send(local, "e2e-app", [tool_use(learner, "yesterday"), tool_use(other, "yesterday")])
    quarantined = [r["quarantineId"] for r in job["returnValue"]["results"]]
    assert all(quarantined), job

    erasure = erase(local, {"actorId": learner})
    assert erasure["state"] == "completed", erasure
    assert (erasure["events"], erasure["quarantined"], erasure["deliveries"]) == (3, 1, None), erasure
    assert erasure["subject"].startswith("hmac-sha256:") and learner not in str(erasure) and email not in str(erasure)

    # No answer shows the learner: gets, the listing by actor, by email, every client's, each client's.
    for event, client in ((as_iri, "e2e-app"), (as_entity, "e2e-app"), (elsewhere, "e2e-other")):
        status, _ = local.request("GET", f"/caliper/events/{event['id']}", client=client)
        assert status == 404, event["id"]
    assert ids(local, f"/caliper/events?actorId={learner}") == set()
    assert ids(local, f"/caliper/events?actorEmail={email}") == set()
    assert ids(local, "/caliper/events?limit=1000") >= {theirs["id"]}
    assert not ids(local, "/caliper/events?limit=1000") & {as_iri["id"], as_entity["id"], elsewhere["id"]}
    assert ids(local, "/caliper/events?limit=1000", client="e2e-other") == set()
    status, kept = local.request("GET", "/quarantine", client="e2e-app")
    assert status == 200 and [i["id"] for i in kept["items"]] == [quarantined[1]], kept
    # Nor does an export made afterwards.
    status, started = local.request("POST", "/exports", {"format": "ndjson"}, client="e2e-admin")
    assert status == 202
    deadline = time.monotonic() + 60
    while (export := local.request("GET", f"/exports/{started['export']['id']}", client="e2e-admin")[1]["export"])["state"] != "completed":
        assert time.monotonic() < deadline and export["state"] != "failed", export
        time.sleep(0.05)
    assert export["events"] == len(ids(local, "/caliper/events?limit=1000"))
    # An erased event sent again is not stored again.
    job = send(local, "e2e-app", [as_iri])
    assert job["returnValue"]["results"][0]["status"] == "erased", job

    # The same erasure again removes nothing, and says so under the same subject.
    again = erase(local, {"actorId": learner})
    assert (again["state"], again["events"], again["quarantined"], again["subject"]) == ("completed", 0, 0, erasure["subject"])


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_an_erasure_by_email_within_one_client_leaves_the_others(backend, request):
    local = request.getfixturevalue(backend)
    email = f"{uuid.uuid4().hex[:8]}@example.edu"
    actor = {"id": f"https://example.edu/users/{uuid.uuid4().hex[:8]}", "type": "Person", "extensions": {"email": email}}
    mine, theirs = tool_use(actor), tool_use(actor)
    send(local, "e2e-app", [mine])
    send(local, "e2e-other", [theirs])
    erasure = erase(local, {"actorEmail": email.upper(), "clientAppId": "e2e-app"})
    assert (erasure["state"], erasure["events"], erasure["clientAppId"]) == ("completed", 1, "e2e-app"), erasure
    assert ids(local, f"/caliper/events?actorEmail={email}") == {theirs["id"]}

    # Only admins erase, and a request names one learner by one identifier.
    status, _ = local.request("POST", "/erasures", {"actorEmail": email}, client="e2e-app")
    assert status == 403
    status, refused = local.request("POST", "/erasures", {"actorId": "someone", "actorEmail": email}, client="e2e-admin")
    assert status == 400 and [e["path"] for e in refused["errors"]] == ["/actorEmail"], refused



class DownReceiver:
    """A webhook receiver that answers 503 while `down`, then 204: what it was sent, and what it
    answered, by Caliper id."""

    def __init__(self):
        self.down, self.answers, self.lock = True, [], threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with receiver.lock:
                    status = 503 if receiver.down else 204
                    receiver.answers.append((body["externalId"], status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def ids(self, status=None):
        with self.lock:
            return {id_ for id_, answered in self.answers if status in (None, answered)}


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_a_pending_delivery_of_an_erased_event_is_never_made(backend, tmp_path):
    receiver = DownReceiver()
    # Retries at most a second apart (whole seconds on SQS), a hundred of them: over a minute and
    # a half of waiting for the erasure, however busy the machine.
    local = start_local(backend, tmp_path, "--allow-private-webhooks", "--webhook-retry-ms", "100",
                        "--webhook-retry-max-ms", "1000", "--webhook-attempts", "100")
    log = local.args_log()
    start_log = log.stat().st_size
    try:
        status, webhook = local.request("POST", "/webhooks/", {"name": "All", "targetUrl": receiver.url,
                                                               "secret": "whsec-erasure-0123456789", "active": True},
                                        client="e2e-subscriber")
        assert status == 201, webhook
        learner = f"https://example.edu/users/{uuid.uuid4().hex[:8]}"
        erased = [tool_use(learner), tool_use({"id": learner, "type": "Person"})]
        kept = tool_use({"id": "https://example.edu/users/kept", "type": "Person"})
        send(local, "e2e-subscriber", [*erased, kept])
        # Every delivery was tried, and waits for its retry while the receiver is down.
        until(lambda: receiver.ids() >= {e["id"] for e in [*erased, kept]}, "the first attempts")

        erasure = erase(local, {"actorId": learner})
        assert (erasure["state"], erasure["events"]) == ("completed", 2), erasure
        receiver.down = False
        dropped = lambda: log.read_bytes()[start_log:].count(b"the event is no longer stored; delivery dropped")
        until(lambda: kept["id"] in receiver.ids(204) and dropped() >= 2, "the deliveries to settle")
        assert not receiver.ids(204) & {e["id"] for e in erased}, receiver.answers
    finally:
        local.stop()
        receiver.server.shutdown()
