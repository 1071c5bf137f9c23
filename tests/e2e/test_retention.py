"""Retention through caliper-local on both backends, on a clock the test sets by the events'
times: an event already past its client's retentionDays is not stored (`expired`), one that
passes it while stored is answered by nothing from then on, and is purged (the embedded sweep;
DynamoDB's TTL attribute in AWS)."""
import datetime
import time
import uuid

import boto3
import pytest
from conftest import start_local

V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"


def at(delta):
    moment = datetime.datetime.now(datetime.timezone.utc) + delta
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tool_use(time_):
    return {
        "@context": V1P2, "id": f"urn:uuid:{uuid.uuid4()}", "type": "ToolUseEvent", "profile": "ToolUseProfile",
        "actor": {"id": "https://example.edu/users/retained", "type": "Person"}, "action": "Used",
        "object": {"id": "https://example.edu", "type": "SoftwareApplication"}, "eventTime": time_,
        "edApp": "https://example.edu",
    }


def until(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {seconds} s"
        time.sleep(0.1)


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_what_retention_no_longer_keeps_is_never_answered_and_is_purged(backend, tmp_path):
    local = start_local(backend, tmp_path, "--sweep-seconds", "1")
    log = local.args_log()
    # The log is shared by every server of the run: only what this one writes counts.
    start_log = log.stat().st_size
    try:
        status, _ = local.request("PUT", "/clients/e2e-app", {"retentionDays": 1}, client="e2e-admin")
        assert status == 200
        old = tool_use(at(-datetime.timedelta(days=3)))
        # Kept for 20 s more: time enough to be stored on a busy machine, then it passes.
        soon = tool_use(at(-datetime.timedelta(days=1) + datetime.timedelta(seconds=20)))
        fresh = tool_use(at(datetime.timedelta(0)))
        body = {"sensor": "https://example.edu/s", "sendTime": at(datetime.timedelta(0)), "dataVersion": V1P2,
                "data": [old, soon, fresh]}
        status, reply = local.request("POST", "/caliper/event", body)
        assert status == 200, reply
        job = local.wait_for_job(reply["jobId"])
        assert [r.get("status") for r in job["returnValue"]["results"]] == ["expired", None, None], job
        status, _ = local.request("GET", f"/caliper/events/{old['id']}")
        assert status == 404

        listed = lambda client="e2e-app": {e["externalId"] for e in local.request("GET", "/caliper/events", client=client)[1]["events"]}
        assert listed() == {soon["id"], fresh["id"]}
        # Once `soon` is past a day old it is answered by nothing: get, the client's listing, an admin's.
        until(lambda: local.request("GET", f"/caliper/events/{soon['id']}")[0] == 404, "expiry")
        assert listed() == {fresh["id"]}
        assert soon["id"] not in listed("e2e-admin") and fresh["id"] in listed("e2e-admin")
        status, page = local.request("GET", "/caliper/events?limit=1")
        assert page["pagination"]["total"] == 1, page

        if backend == "embedded":
            until(lambda: b"events past their retention purged" in log.read_bytes()[start_log:], "the sweep")
        else:
            # DynamoDB's TTL deletes by the item's expiresAt (moto keeps it): when its day is over.
            table = boto3.resource("dynamodb", endpoint_url=local.env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                                   aws_access_key_id="test", aws_secret_access_key="test").Table(local.env["CALIPER_EVENTS_TABLE"])
            item = table.get_item(Key={"externalId": soon["id"], "clientAppId": "e2e-app"})["Item"]
            event_time = datetime.datetime.fromisoformat(soon["eventTime"].replace("Z", "+00:00"))
            assert int(item["expiresAt"]) == int((event_time + datetime.timedelta(days=1)).timestamp())
        if backend == "embedded":
            # Purged, not hidden: kept for ever again, it does not come back; the fresh one stays.
            status, _ = local.request("PUT", "/clients/e2e-app", {"retentionDays": None}, client="e2e-admin")
            assert status == 200
            status, _ = local.request("GET", f"/caliper/events/{soon['id']}")
            assert status == 404
            assert listed() == {fresh["id"]}
    finally:
        local.stop()


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_setting_a_retention_sweeps_what_was_stored_before_it(backend, tmp_path):
    local = start_local(backend, tmp_path)
    log = local.args_log()
    start_log = log.stat().st_size
    try:
        old, fresh = tool_use(at(-datetime.timedelta(days=10))), tool_use(at(datetime.timedelta(0)))
        body = {"sensor": "https://example.edu/s", "sendTime": at(datetime.timedelta(0)), "dataVersion": V1P2,
                "data": [old, fresh]}
        status, reply = local.request("POST", "/caliper/event", body, client="e2e-other")
        assert status == 200, reply
        assert local.wait_for_job(reply["jobId"], client="e2e-other")["state"] == "completed"
        assert local.request("GET", f"/caliper/events/{old['id']}", client="e2e-other")[0] == 200

        status, _ = local.request("PUT", "/clients/e2e-other", {"retentionDays": 5}, client="e2e-admin")
        assert status == 200
        # Hidden at once; purged by the sweep that setting it started.
        assert local.request("GET", f"/caliper/events/{old['id']}", client="e2e-other")[0] == 404
        until(lambda: b"retention sweep done" in log.read_bytes()[start_log:], "the sweep")
        status, _ = local.request("PUT", "/clients/e2e-other", {"retentionDays": None}, client="e2e-admin")
        assert status == 200
        assert local.request("GET", f"/caliper/events/{old['id']}", client="e2e-other")[0] == 404
        assert local.request("GET", f"/caliper/events/{fresh['id']}", client="e2e-other")[0] == 200
    finally:
        local.stop()
