"""caliper-local end to end: the documented examples go in, complete, and keep their ids."""
import copy
import json
import datetime
import re
import uuid

import pytest

SENSOR = "https://alpharead.alpha.school"
V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def envelope(*events):
    return {"sensor": SENSOR, "sendTime": now(), "dataVersion": V1P2, "data": list(events)}


def urn():
    return f"urn:uuid:{uuid.uuid4()}"


# The four request examples of the Create Events documentation, with fresh ids.
def documented_examples():
    generic = {
        "id": urn(), "type": "Event", "actor": "https://example.edu/users/554433", "action": "Created",
        "object": "https://example.edu/terms/201801/courses/7/sections/1/assignments/1", "eventTime": "2023-08-15T14:12:00.000Z",
    }
    tool_use = {
        "@context": V1P2, "id": urn(), "type": "ToolUseEvent", "profile": "ToolUseProfile",
        "actor": {"id": "https://example.edu/users/554433", "type": "Person"}, "action": "Used",
        "object": {"id": "https://example.edu", "type": "SoftwareApplication"}, "eventTime": "2016-11-15T10:15:00.000Z",
        "edApp": "https://example.edu",
        "group": {"id": "https://example.edu/terms/201601/courses/7/sections/1", "type": "CourseSection",
                  "extensions": {"courseNumber": "CPS 435-01", "academicSession": "Fall 2016"}},
    }
    annotation = {
        "@context": V1P2, "id": urn(), "type": "AnnotationEvent", "profile": "AnnotationProfile",
        "actor": {"id": "https://example.edu/users/554433", "type": "Person"}, "action": "Highlighted",
        "object": {"id": "https://example.edu/terms/201801/courses/7/resources/1", "type": "DigitalResource"},
        "generated": {"id": "https://example.edu/users/554433/annotations/1", "type": "HighlightAnnotation",
                      "annotator": "https://example.edu/users/554433",
                      "annotated": "https://example.edu/terms/201801/courses/7/resources/1",
                      "selection": {"type": "TextPositionSelector", "start": 412, "end": 795}},
        "eventTime": "2023-08-01T06:00:00.000Z", "edApp": "https://example.edu/apps/annotation-tool",
    }
    session = "https:/your-app.domain/session/adac039d-4ff4-48b9-bfb0-8ec37ac9d1ea"
    metrics = {
        "id": urn(), "type": "ToolUseEvent", "profile": "ToolUseProfile",
        "actor": {"id": "https:/your-app.domain/users/fdeb7d92-b3a4-4b6c-a201-cb590b43bce1", "type": "Person",
                  "extensions": {"email": "noemail@student.com"}},
        "action": "Used", "object": {"id": "https:/your-app.domain", "name": "Learning", "type": "SoftwareApplication"},
        "generated": {"id": session, "type": "AggregateMeasureCollection", "items": [
            {"id": session, "type": "AggregateMeasure", "metric": "Facts Learnt", "metricValue": 2},
            {"id": session, "type": "AggregateMeasure", "metric": "Facts Practiced", "metricValue": 4}]},
        "session": {"id": session, "type": "Session", "extensions": {"session_id": "adac039d"}},
        "eventTime": "2025-03-25T14:12:00.000Z",
    }
    return [envelope(generic), envelope(tool_use), envelope(annotation), envelope(metrics)]


def results(job):
    return [(r["allocatedId"], r["externalId"]) for r in job["returnValue"]["results"]]


def submit_and_complete(local, body):
    status, reply = local.request("POST", "/caliper/event", body)
    assert status == 200, reply
    assert reply["status"] == "success" and reply["jobId"], reply
    job = local.wait_for_job(reply["jobId"])
    assert job["state"] == "completed", job
    return reply["jobId"], job


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_documented_examples_complete_and_keep_their_ids(backend, request):
    local = request.getfixturevalue(backend)
    for body in documented_examples():
        # How fast is the load tool's and the benchmarks' business: a timed assertion here would
        # fail on a loaded machine, not on a broken queue (which never completes the job).
        job_id, job = submit_and_complete(local, body)
        pairs = results(job)
        assert [external for _, external in pairs] == [event["id"] for event in body["data"]]
        assert all(re.fullmatch(r"[1-9][0-9]*", allocated) for allocated, _ in pairs), pairs
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", job["processedOn"])

        resent = copy.deepcopy(body)
        resent["sendTime"] = now()
        _, again = submit_and_complete(local, resent)
        assert results(again) == pairs, "the same events keep their first allocated ids"


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_the_v1p2_path_is_the_same_route(backend, request):
    local = request.getfixturevalue(backend)
    body = documented_examples()[1]
    status, reply = local.request("POST", "/caliper/v1p2", body)
    assert status == 200, reply
    assert results(local.wait_for_job(reply["jobId"]))[0][1] == body["data"][0]["id"]


def test_invalid_envelopes_get_every_problem_and_store_nothing(embedded):
    body = documented_examples()[1]
    body["data"][0]["eventTime"] = "15/11/2016"
    body["data"][0]["profile"] = "ToolProfile"
    del body["sendTime"]
    status, reply = embedded.request("POST", "/caliper/event", body)
    assert status == 400
    assert reply["status"] == "error" and reply["message"]
    by_path = {e["path"]: e["message"] for e in reply["errors"]}
    assert set(by_path) == {"/data/0/eventTime", "/data/0/profile", "/sendTime"}, by_path
    assert "15/11/2016" in by_path["/data/0/eventTime"]
    # Nothing stored: the same event sent valid afterwards gets the first allocated id ever issued.
    fixed = documented_examples()[1]
    fixed["data"][0]["id"] = body["data"][0]["id"]
    _, job = submit_and_complete(embedded, fixed)
    assert results(job)[0][0] == "1"


def test_bad_requests_are_answered_with_the_error_shape(embedded):
    cases = [
        ("POST", "/caliper/event", b"{not json", "application/json", 400),
        ("POST", "/caliper/event", b"", "application/json", 400),
        ("POST", "/caliper/event", b"{}", "text/plain", 415),
        ("POST", "/caliper/event", b"[" * 10_000, "application/json", 400),
        ("POST", "/caliper/event", b'"x' + b"a" * (6 * 1024 * 1024) + b'"', "application/json", 413),
        ("GET", "/jobs/not-a-job/status", None, None, 404),
        ("GET", "/nowhere", None, None, 404),
        ("GET", "/caliper/v1p2", None, None, 405),
    ]
    for method, path, body, content_type, expected in cases:
        status, reply = embedded.request(method, path, body, content_type)
        assert status == expected, (method, path, status, reply)
        assert reply["status"] == "error" and reply["message"], reply


def test_jobs_survive_a_restart(embedded):
    job_id, job = submit_and_complete(embedded, documented_examples()[0])
    # SIGTERM, as a service manager stops it: a clean exit, the store closed.
    embedded.stop()
    assert embedded.process.returncode == 0, "SIGTERM ends caliper-local cleanly"
    assert b"stopped" in embedded.args_log().read_bytes().splitlines()[-1]
    embedded.start()
    status, reply = embedded.request("GET", f"/jobs/{job_id}/status")
    assert status == 200
    assert reply["job"] == job


def test_an_envelope_over_one_queue_message_is_split_not_refused(embedded):
    """12 events of about 100 KB each: 1.2 MB, more than one 1 MiB queue message holds."""
    events = []
    for _ in range(12):
        event = copy.deepcopy(documented_examples()[1]["data"][0])
        event["extensions"] = {"notes": ["x" * 50_000, "y" * 50_000]}
        events.append(event)
    body = envelope(*events)
    assert len(json.dumps(body)) > 1024 * 1024
    _, job = submit_and_complete(embedded, body)
    assert [external for _, external in results(job)] == [e["id"] for e in events]
