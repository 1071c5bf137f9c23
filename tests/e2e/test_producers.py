"""Producers nobody on the team wrote, through caliper-local's HTTP endpoints on both backends:
every published Caliper 1.1 example (what LMSs stream), stored with its version and read back as
sent; Caliper 1.2 as the IMS sensor libraries write it by default (no profile, null for every unset
property, whole-number decimals, `+0000` offsets); listings filtered by dataVersion.

The examples are read at test time from the team's shared folder beside the repository, or from
$CALIPER_SPEC_DIR."""
import base64
import json
import os
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, Local
from test_local import results, submit_and_complete

SPEC = Path(os.environ.get("CALIPER_SPEC_DIR", ROOT.parent / "shared" / "caliper"))
V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"
SENSOR = "https://lms.example.edu/sensors/1"
# What the stored event keeps of a sent one, by the stored field's name.
KEPT = {"externalId": "id", "type": "type", "action": "action", "eventTime": "eventTime", "actor": "actor",
        "object": "object", "generated": "generated", "target": "target", "referrer": "referrer",
        "edApp": "edApp", "group": "group", "membership": "membership", "session": "session",
        "federatedSession": "federatedSession", "extensions": "extensions", "profile": "profile"}


def v1p1_examples():
    folder = SPEC / "v1p1" / "fixtures"
    found = sorted(folder.glob("*.json"))
    assert len(found) >= 80, f"expected the Caliper 1.1 examples in {folder}; set CALIPER_SPEC_DIR"
    return [(path.stem, json.loads(path.read_text())) for path in found]


def is_event(item):
    return "action" in item or str(item.get("type", "")).endswith("Event")


def envelope(items, version):
    return {"sensor": SENSOR, "sendTime": "2018-11-15T10:15:01.000Z", "dataVersion": version, "data": items}


def get(local, external_id):
    status, body = local.request("GET", "/caliper/events/" + urllib.parse.quote(external_id, safe=""))
    assert status == 200, (external_id, body)
    return body["event"]


def listing(local, **params):
    status, body = local.request("GET", "/caliper/events?" + urllib.parse.urlencode(params))
    assert status == 200, body
    return body


def assert_kept(stored, sent, body):
    for field, key in KEPT.items():
        assert stored[field] == sent.get(key), (field, stored[field], sent.get(key))
    assert (stored["dataVersion"], stored["sensor"], stored["sendTime"]) == (
        body["dataVersion"], body["sensor"], body["sendTime"])


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_every_caliper_1p1_example_is_stored_with_its_version_and_read_back_as_sent(backend, request):
    local = request.getfixturevalue(backend)
    first_sent = {}
    for name, example in v1p1_examples():
        body = example if "data" in example else envelope([example], V1P1)
        assert body["dataVersion"] == V1P1, name
        _, job = submit_and_complete(local, body)
        events = [item for item in body["data"] if is_event(item)]
        assert [external for _, external in results(job)] == [e["id"] for e in events], name
        for event in events:
            # The examples reuse ids: an id is stored once, as first sent.
            first_sent.setdefault(event["id"], (event, body))
    assert len(first_sent) >= 35, "the examples hold about 38 distinct events"
    for external_id, (event, body) in first_sent.items():
        assert_kept(get(local, external_id), event, body)
    assert listing(local, dataVersion=V1P1, limit=1)["pagination"]["total"] == len(first_sent)
    assert listing(local, dataVersion=V1P2, limit=1)["pagination"]["total"] == 0


def ims_sensor_event(event_id):
    """A Caliper 1.2 event as the IMS Python sensor builds it unless told otherwise: no profile, and
    null for every property not set; decimals that JavaScript wrote without a fraction, and the
    offset as the IMS JavaScript sensor writes it."""
    return {
        "@context": V1P2, "id": event_id, "type": "GradeEvent", "action": "Graded",
        "actor": {"id": "https://example.edu/autograder", "type": "SoftwareApplication", "name": None,
                  "description": None, "dateCreated": None, "dateModified": None, "extensions": None,
                  "version": "v2", "host": None, "ipAddress": None, "userAgent": None},
        "object": {"id": "https://example.edu/attempts/1", "type": "Attempt", "assignee": "https://example.edu/users/554433",
                   "assignable": None, "count": 1, "startedAtTime": None, "endedAtTime": None, "duration": None},
        "generated": {"id": "https://example.edu/attempts/1/score", "type": "Score", "maxScore": 15,
                      "scoreGiven": 10, "scoredBy": "https://example.edu/autograder", "comment": None,
                      "attempt": None, "dateCreated": "2024-05-01T12:00:00.000+0000"},
        "eventTime": "2024-05-01T12:00:00.000+0000",
        "edApp": None, "target": None, "referrer": None, "group": None, "membership": None,
        "session": None, "federatedSession": None, "extensions": None, "profile": None,
    }


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_the_ims_sensors_default_output_is_accepted_and_kept(backend, request):
    local = request.getfixturevalue(backend)
    event = ims_sensor_event(f"urn:uuid:{uuid.uuid4()}")
    body = envelope([event], V1P2)
    _, job = submit_and_complete(local, body)
    assert results(job)[0][1] == event["id"]
    assert_kept(get(local, event["id"]), event, body)
    # The same event with a required property null is refused, at that property.
    broken = dict(event, actor=None, id=f"urn:uuid:{uuid.uuid4()}")
    status, body = local.request("POST", "/caliper/event", envelope([broken], V1P2))
    assert status == 400, body
    assert [e["path"] for e in body["errors"]] == ["/data/0/actor"], body


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_listings_keep_the_versions_apart(backend, request):
    local = request.getfixturevalue(backend)
    sent = {V1P1: [], V1P2: []}
    for n in range(7):
        version = V1P1 if n % 3 else V1P2
        event = {"id": f"urn:uuid:{uuid.uuid4()}", "type": "ViewEvent", "action": "Viewed",
                 "actor": "https://example.edu/users/1", "object": "https://example.edu/pages/1",
                 "eventTime": f"2024-05-0{n + 1}T12:00:00.000Z", "@context": version}
        submit_and_complete(local, envelope([event], version))
        sent[version].append(event["id"])
    for version, ids in sent.items():
        # A page at a time, by cursor: exactly that version's events, newest first.
        seen, params = [], {"dataVersion": version, "limit": 2}
        while True:
            page = listing(local, **params)
            assert page["pagination"]["total"] == len(ids)
            assert {e["dataVersion"] for e in page["events"]} <= {version}
            seen += [e["externalId"] for e in page["events"]]
            if not page.get("nextCursor"):
                break
            params = {"dataVersion": version, "limit": 2, "cursor": page["nextCursor"]}
        assert seen == list(reversed(ids))
        # Combined with another filter, and refused when it names no version.
        assert listing(local, dataVersion=version, actorId="https://example.edu/users/1")["pagination"]["total"] == len(ids)
    status, body = local.request("GET", "/caliper/events?dataVersion=1.1")
    assert status == 400 and body["errors"][0]["path"] == "/query/dataVersion", body
    assert V1P1 in body["errors"][0]["message"], body


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_a_bare_array_of_envelopes_is_one_job_in_order(backend, request):
    """Open edX with batching on posts a JSON array of envelopes, one event each, of other sensors
    and versions; blank-node ids name its entities."""
    local = request.getfixturevalue(backend)
    events = [ims_sensor_event(f"urn:uuid:{uuid.uuid4()}") for _ in range(3)]
    events[1]["object"]["id"] = "_:attempt"
    batch = [envelope([events[0]], V1P2), dict(envelope([events[1]], V1P2), sensor="https://openedx.example.edu"),
             envelope([events[2]], V1P2)]
    status, checked = local.request("POST", "/caliper/event/validate", batch)
    assert (status, checked["status"]) == (200, "success"), checked
    _, job = submit_and_complete(local, batch)
    assert [external for _, external in results(job)] == [e["id"] for e in events]
    stored = get(local, events[1]["id"])
    assert (stored["sensor"], stored["object"]["id"]) == ("https://openedx.example.edu", "_:attempt")

    # Under the default (strict) policy, one bad envelope refuses the batch, pointed at by its index.
    bad = dict(events[2], id=f"urn:uuid:{uuid.uuid4()}", actor=None)
    status, refused = local.request("POST", "/caliper/event", [batch[0], envelope([bad], V1P2)])
    assert status == 400, refused
    assert [e["path"] for e in refused["errors"]] == ["/1/data/0/actor"], refused
    status, empty = local.request("POST", "/caliper/event", [])
    assert status == 400 and empty["errors"][0]["path"] == "", empty


class OpenEdxSender:
    """Open edX's event-routing-backends as it delivers to a Caliper endpoint: the Authorization an
    admin typed (a static `Bearer <key>`, or HTTP Basic), one envelope per event or, with batching
    on, a bare JSON array of envelopes; a non-2xx answer is tried again 3 times (30 s apart there,
    at once here), then given up. The IMS sensors send the same way, one envelope at a time."""

    def __init__(self, url, authorization):
        self.url, self.authorization = url, authorization

    def send(self, body):
        """Every answer's status, the last one's body."""
        statuses = []
        for _ in range(4):
            request = urllib.request.Request(self.url + "/caliper/event", data=json.dumps(body).encode(), method="POST")
            request.add_header("Content-Type", "application/json")
            request.add_header("Authorization", self.authorization)
            status, reply = Local.call(request)
            statuses.append(status)
            if 200 <= status < 300:
                break
        return statuses, reply


def make_key(local, client, scopes=("event.create",)):
    status, made = local.request("POST", "/keys", {"clientAppId": client, "scopes": list(scopes), "name": "Open edX"},
                                 client="e2e-admin")
    assert status == 201 and made["secret"] and made["key"]["clientAppId"] == client, made
    return made["key"], made["secret"]


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_open_edx_and_the_ims_sensors_deliver_with_static_keys(backend, request):
    local = request.getfixturevalue(backend)
    client = f"openedx-{uuid.uuid4().hex[:8]}"
    key, secret = make_key(local, client)
    basic = "Basic " + base64.b64encode(f"{key['id']}:{secret}".encode()).decode()
    sent = []
    for authorization, body in [
        # One envelope per event, with a static bearer key (the IMS sensors' way too)...
        (f"Bearer {secret}", envelope([ims_sensor_event(f"urn:uuid:{uuid.uuid4()}")], V1P2)),
        # ...and a batch as a bare array, with Basic.
        (basic, [envelope([ims_sensor_event(f"urn:uuid:{uuid.uuid4()}")], V1P2) for _ in range(3)]),
    ]:
        statuses, reply = OpenEdxSender(local.url, authorization).send(body)
        assert statuses == [200], reply
        job = local.wait_for_job(reply["jobId"], client="e2e-admin")
        assert job["state"] == "completed", job
        events = [e for b in (body if isinstance(body, list) else [body]) for e in b["data"]]
        assert [external for _, external in results(job)] == [e["id"] for e in events]
        sent += events
    for event in sent:
        status, stored = local.request("GET", f"/caliper/events/{event['id']}?clientAppId={client}", client="e2e-admin")
        assert status == 200 and stored["event"]["clientAppId"] == client, stored

    status, listed = local.request("GET", f"/keys?clientAppId={client}", client="e2e-admin")
    assert status == 200 and [k["id"] for k in listed["keys"]] == [key["id"]], listed
    assert listed["keys"][0]["last_used_at"] and "secret" not in json.dumps(listed), listed

    # A key acts with its scopes only, on every route: no webhooks, no admin.
    status, _ = local.request("GET", "/webhooks/", token=secret)
    assert status == 403
    # Revoked (or mistyped): 401, which the sender tries again and then gives up.
    status, _ = local.request("DELETE", f"/keys/{key['id']}", client="e2e-admin")
    assert status == 200
    for authorization in (f"Bearer {secret}", basic):
        statuses, refused = OpenEdxSender(local.url, authorization).send(envelope([ims_sensor_event(f"urn:uuid:{uuid.uuid4()}")], V1P2))
        assert statuses == [401] * 4, refused
        assert refused["errors"][0]["path"] == "/headers/authorization" and secret not in json.dumps(refused), refused
    # Wrong keys count against their address as wrong client secrets do (10 a minute by default):
    # past them, 429. A key is beyond guessing, so it is checked all the same: the right one, from
    # that address, still passes.
    _, live = make_key(local, client)
    wrong = OpenEdxSender(local.url, f"Bearer {secret[:-1]}A")
    statuses = []
    while 429 not in statuses and len(statuses) < 40:
        statuses += wrong.send(envelope([], V1P2))[0]
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    statuses, reply = OpenEdxSender(local.url, f"Bearer {live}").send(envelope([ims_sensor_event(f"urn:uuid:{uuid.uuid4()}")], V1P2))
    assert statuses == [200], reply


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_client_settings_are_kept_per_client_by_admins(backend, request):
    local = request.getfixturevalue(backend)
    client = f"client-{uuid.uuid4().hex[:8]}"
    status, got = local.request("GET", f"/clients/{client}", client="e2e-admin")
    assert status == 200 and got["client"] == {"clientAppId": client, "validation": "strict", "retentionDays": None,
                                               "updated_at": None}, got
    status, put = local.request("PUT", f"/clients/{client}", {"validation": "flag", "retentionDays": 400}, client="e2e-admin")
    assert status == 200 and (put["client"]["validation"], put["client"]["retentionDays"]) == ("flag", 400), put
    status, got = local.request("GET", f"/clients/{client}", client="e2e-admin")
    assert got["client"] == put["client"], got
    status, bad = local.request("PUT", f"/clients/{client}", {"validation": "sometimes"}, client="e2e-admin")
    assert status == 400 and bad["errors"][0]["path"] == "/validation", bad
    status, _ = local.request("GET", f"/clients/{client}")
    assert status == 403, "a client without admin does not see settings, its own either"


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_a_changed_resend_is_reported_as_a_conflict_and_the_first_stays(backend, request):
    local = request.getfixturevalue(backend)
    event = ims_sensor_event(f"urn:uuid:{uuid.uuid4()}")
    _, first = submit_and_complete(local, envelope([event], V1P2))
    (allocated, _), = results(first)
    # A retry of the same event (a new sendTime, nulls left out) is a plain success...
    same = {k: v for k, v in event.items() if v is not None}
    _, again = submit_and_complete(local, dict(envelope([same], V1P2), sendTime="2024-05-01T12:00:09.000Z"))
    assert again["returnValue"]["results"] == [{"allocatedId": allocated, "externalId": event["id"]}], again
    # ...another score under the same id is not, and the first stays.
    changed = json.loads(json.dumps(event))
    changed["generated"]["scoreGiven"] = 14
    _, conflict = submit_and_complete(local, envelope([changed], V1P2))
    result, = conflict["returnValue"]["results"]
    assert (result["allocatedId"], result["status"]) == (allocated, "conflict"), result
    assert "/generated/scoreGiven" in result["message"], result
    assert get(local, event["id"])["generated"]["scoreGiven"] == 10


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_under_flag_no_event_of_a_mixed_batch_is_lost_in_silence(backend, request):
    """A client whose policy is `flag` (Open edX's and Canvas's output departs from Caliper): each
    event is stored with what Caliper's model finds wrong with it, and what cannot be stored at all
    is named in its job; the same body under `strict` is refused whole."""
    local = request.getfixturevalue(backend)
    client = f"flagged-{uuid.uuid4().hex[:8]}"
    _, secret = make_key(local, client)
    good = ims_sensor_event(f"urn:uuid:{uuid.uuid4()}")
    webpage = dict(ims_sensor_event(f"urn:uuid:{uuid.uuid4()}"), object={"id": "https://lms.example.edu/p/1", "type": "Webpage"})
    timeless = dict(ims_sensor_event(f"urn:uuid:{uuid.uuid4()}"), eventTime="yesterday")
    batch = [envelope([good], V1P2), envelope([webpage, timeless], V1P2)]

    status, refused = local.request("POST", "/caliper/event", batch, token=secret)
    assert status == 400 and [e["path"] for e in refused["errors"]] == ["/1/data/0/object/type", "/1/data/1/eventTime"], refused

    status, _ = local.request("PUT", f"/clients/{client}", {"validation": "flag"}, client="e2e-admin")
    assert status == 200
    statuses, reply = OpenEdxSender(local.url, f"Bearer {secret}").send(batch)
    assert statuses == [200], reply
    # A body with nothing to store (or to say was not stored) is refused under flag too.
    status, empty = local.request("POST", "/caliper/event", [batch[0], {"sensor": SENSOR}], token=secret)
    assert status == 400 and "/1/data" in [e["path"] for e in empty["errors"]], empty
    job = local.wait_for_job(reply["jobId"], client="e2e-admin")
    first, second, third = job["returnValue"]["results"]
    assert first == {"allocatedId": first["allocatedId"], "externalId": good["id"]}, first
    assert second["allocatedId"] and [p["path"] for p in second["problems"]] == ["/object/type"], second
    assert (third["allocatedId"], third["status"]) == (None, "quarantined") and "eventTime" in third["message"], third
    assert third["quarantineId"], third
    status, stored = local.request("GET", f"/caliper/events/{webpage['id']}?clientAppId={client}", client="e2e-admin")
    assert status == 200 and stored["event"]["problems"] == second["problems"], stored
    status, stored = local.request("GET", f"/caliper/events/{good['id']}?clientAppId={client}", client="e2e-admin")
    assert status == 200 and "problems" not in stored["event"], stored
    # The client reads back its own events by conformance (its key has event.create).
    for conformant, expected in (("false", [webpage["id"]]), ("true", [good["id"]])):
        status, page = local.request("GET", f"/caliper/events?conformant={conformant}", token=secret)
        assert status == 200 and [e["externalId"] for e in page["events"]] == expected, (conformant, page)


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_what_flag_cannot_store_waits_in_quarantine_for_replay_or_delete(backend, request):
    local = request.getfixturevalue(backend)
    client = f"quarantined-{uuid.uuid4().hex[:8]}"
    _, secret = make_key(local, client)
    status, _ = local.request("PUT", f"/clients/{client}", {"validation": "flag"}, client="e2e-admin")
    assert status == 200
    late = [dict(ims_sensor_event(f"urn:uuid:{uuid.uuid4()}"), eventTime="later") for _ in range(2)]
    status, reply = local.request("POST", "/caliper/event", envelope(late, V1P2), token=secret)
    assert status == 200, reply
    job = local.wait_for_job(reply["jobId"], client="e2e-admin")
    ids = [r["quarantineId"] for r in job["returnValue"]["results"]]
    assert all(ids) and [r["status"] for r in job["returnValue"]["results"]] == ["quarantined"] * 2, job

    status, page = local.request("GET", "/quarantine?limit=1", token=secret)
    assert status == 200 and [i["id"] for i in page["items"]] == [ids[1]] and page["nextCursor"] == ids[1], page
    item = page["items"][0]
    assert (item["clientAppId"], item["source"], item["body"]) == (client, "submission", late[1]), item
    assert "eventTime" in item["reasons"][0]["message"], item
    status, rest = local.request("GET", f"/quarantine?cursor={ids[1]}", token=secret)
    assert [i["id"] for i in rest["items"]] == [ids[0]], rest
    # Another client sees none of them; an admin sees them all.
    status, other = local.request("GET", "/quarantine")
    assert status == 200 and not {i["id"] for i in other["items"]} & set(ids), other
    status, _ = local.request("DELETE", f"/quarantine/{ids[0]}")
    assert status == 404
    status, admin = local.request("GET", f"/quarantine?clientAppId={client}", client="e2e-admin")
    assert [i["id"] for i in admin["items"]] == [ids[1], ids[0]], admin

    # Fixed at the source, the client's policy strict again: a replay is held to it (400 here),
    # and the item stays; under flag it is submitted again and leaves.
    status, _ = local.request("PUT", f"/clients/{client}", {"validation": "strict"}, client="e2e-admin")
    status, refused = local.request("POST", f"/quarantine/{ids[0]}/replay", token=secret)
    assert status == 400 and refused["errors"][0]["path"] == "/data/0/eventTime", refused
    status, _ = local.request("PUT", f"/clients/{client}", {"validation": "flag"}, client="e2e-admin")
    status, replayed = local.request("POST", f"/quarantine/{ids[0]}/replay", token=secret)
    assert status == 200 and replayed["jobId"], replayed
    again = local.wait_for_job(replayed["jobId"], client="e2e-admin")
    assert again["returnValue"]["results"][0]["status"] == "quarantined", again
    status, _ = local.request("DELETE", f"/quarantine/{ids[1]}", token=secret)
    assert status == 200
    status, left = local.request("GET", "/quarantine", token=secret)
    assert [i["id"] for i in left["items"]] == [again["returnValue"]["results"][0]["quarantineId"]], left
