"""caliper-local end to end: events submitted over HTTP are listed and fetched back, exactly them,
in the contract's shapes, with every filter and both ways of paging (on the embedded store and on
DynamoDB through moto)."""
import urllib.parse

import pytest

from test_local import documented_examples, results, submit_and_complete

STORED_FIELDS = {
    "id", "externalId", "sensor", "type", "profile", "action", "eventTime", "sendTime", "dataVersion", "created_at",
    "updated_at", "deleted_at", "actor", "object", "generated", "target", "referrer", "edApp", "group",
    "membership", "session", "federatedSession", "extensions", "clientAppId",
}


def submit_all(local):
    """The documented examples, each in its envelope: Caliper id → (allocated id, event, envelope)."""
    sent = {}
    for body in documented_examples():
        _, job = submit_and_complete(local, body)
        for (allocated, external), event in zip(results(job), body["data"]):
            sent[external] = (int(allocated), event, body)
    return sent


def listing(local, **params):
    status, body = local.request("GET", "/caliper/events?" + urllib.parse.urlencode(params))
    assert status == 200, body
    return body


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_list_and_get_return_exactly_what_was_sent(backend, request):
    local = request.getfixturevalue(backend)
    sent = submit_all(local)

    body = listing(local, limit=1000)
    assert set(body) == {"events", "pagination", "nextCursor"}
    assert body["pagination"] == {"total": 4, "totalPages": 1, "currentPage": 1, "limit": 1000}
    assert body["nextCursor"] is None
    listed = {event["externalId"]: event for event in body["events"]}
    assert set(listed) == set(sent)
    times = [event["eventTime"] for event in body["events"]]
    assert times == sorted(times, reverse=True), "newest first"

    for external, (allocated, event, envelope) in sent.items():
        status, got = local.request("GET", "/caliper/events/" + urllib.parse.quote(external, safe=""))
        assert status == 200, got
        stored = got["event"]
        assert stored == listed[external]
        assert set(stored) == STORED_FIELDS
        assert (stored["id"], stored["sensor"], stored["sendTime"]) == (allocated, envelope["sensor"], envelope["sendTime"])
        for field in ("type", "action", "eventTime", "actor", "object", "generated", "edApp", "group", "session"):
            assert stored[field] == event.get(field), field
        assert stored["deleted_at"] is None and stored["clientAppId"]

    status, missing = local.request("GET", "/caliper/events/urn%3Auuid%3A00000000-0000-4000-8000-000000000000")
    assert (status, missing["status"], missing["message"]) == (404, "error", "Event not found")


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_filters_and_paging(backend, request):
    local = request.getfixturevalue(backend)
    sent = submit_all(local)
    by_email = listing(local, actorEmail="NoEmail@Student.com")
    assert [e["externalId"] for e in by_email["events"]] == [
        external for external, (_, event, _) in sent.items() if "noemail@student.com" in str(event["actor"])
    ]
    # Three examples share this actor, one of them naming it by its IRI alone.
    assert listing(local, actorId="https://example.edu/users/554433")["pagination"]["total"] == 3
    assert listing(local, sensor="https://alpharead.alpha.school")["pagination"]["total"] == 4
    assert listing(local, sensor="https://elsewhere.example")["pagination"]["total"] == 0
    in_2023 = listing(local, startDate="2023-01-01", endDate="2023-12-31T23:59:59Z", order="asc")
    assert [e["eventTime"] for e in in_2023["events"]] == ["2023-08-01T06:00:00.000Z", "2023-08-15T14:12:00.000Z"]

    # Offsets, as the official client's stream pages, and the cursor: the same order either way.
    everything = [e["externalId"] for e in listing(local, limit=1000)["events"]]
    by_offset = [e["externalId"] for offset in (0, 2) for e in listing(local, limit=2, offset=offset)["events"]]
    page = listing(local, limit=3)
    by_cursor = [e["externalId"] for e in page["events"]]
    page = listing(local, limit=3, cursor=page["nextCursor"])
    by_cursor += [e["externalId"] for e in page["events"]]
    assert by_offset == by_cursor == everything
    assert page["nextCursor"] is None and page["pagination"]["currentPage"] == 2

    status, bad = local.request("GET", "/caliper/events?limit=0&startDate=soon")
    assert status == 400, bad
    assert {e["path"] for e in bad["errors"]} == {"/query/limit", "/query/startDate"}
