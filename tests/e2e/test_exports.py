"""Bulk export through caliper-local on both backends: files read back with DuckDB hold exactly the
listing's events, a client's export never another's, and the files come only to their reader."""
import datetime
import gzip
import json
import time
import urllib.request
import uuid

import duckdb
import pytest

V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"
SENSOR = "https://example.edu/sensors/export"


def tool_use(time_):
    return {
        "@context": V1P2, "id": f"urn:uuid:{uuid.uuid4()}", "type": "ToolUseEvent", "profile": "ToolUseProfile",
        "actor": {"id": f"https://example.edu/users/{uuid.uuid4().hex[:6]}", "type": "Person"},
        "action": "Used", "object": {"id": "https://example.edu", "type": "SoftwareApplication"},
        "eventTime": time_, "edApp": "https://example.edu",
    }


def send(local, client, events):
    body = {"sensor": SENSOR, "sendTime": "2024-06-01T00:00:00.000Z", "dataVersion": V1P2, "data": events}
    status, reply = local.request("POST", "/caliper/event", body, client=client)
    assert status == 200, reply
    assert local.wait_for_job(reply["jobId"], client=client)["state"] == "completed"


def listing(local, client):
    events, cursor = [], None
    while True:
        path = "/caliper/events?order=asc&limit=1000" + (f"&cursor={cursor}" if cursor else "")
        status, page = local.request("GET", path, client=client)
        assert status == 200, page
        events += page["events"]
        cursor = page["nextCursor"]
        if not cursor:
            return events


def finished(local, export_id, client, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = local.request("GET", f"/exports/{export_id}", client=client)
        assert status == 200, body
        if body["export"]["state"] in ("completed", "failed"):
            return body["export"]
        time.sleep(0.05)
    raise AssertionError(f"export {export_id} did not finish in {seconds} s")


def fetch(local, url, client):
    """A file by its URL: with the client's token when the API serves it, as it is when S3 does."""
    request = urllib.request.Request(url)
    if url.startswith(local.url):
        request.add_header("Authorization", f"Bearer {local.access_token(client)}")
    return local.call(request)


def parquet_rows(files, directory):
    """Every row of the Parquet files, in file order, and the columns' types, through DuckDB (as an
    analyst reads them)."""
    paths = []
    for n, data in enumerate(files):
        paths.append(directory / f"part-{n}.parquet")
        paths[-1].write_bytes(data)
    with duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        listed = ", ".join(f"'{p}'" for p in paths)
        types = dict(db.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet([{listed}]))").fetchall())
        result = db.execute(f"SELECT * FROM read_parquet([{listed}], filename = true, file_row_number = true) ORDER BY filename, file_row_number")
        names = [d[0] for d in result.description]
        return types, [dict(zip(names, row)) for row in result.fetchall()]


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_an_export_holds_the_listing_event_for_event_and_no_other_clients(backend, request, tmp_path):
    local = request.getfixturevalue(backend)
    # Three UTC dates (one reached through an offset), and another client's events among them.
    mine = [tool_use(t) for t in ("2024-05-01T08:00:00.000Z", "2024-05-01T23:30:00.000-02:00",
                                  "2024-05-03T12:00:00.000Z", "2024-05-03T12:00:00.500Z")]
    theirs = [tool_use("2024-05-01T09:00:00.000Z"), tool_use("2024-05-03T00:00:00.000Z")]
    send(local, "e2e-app", mine)
    send(local, "e2e-other", theirs)
    expected = listing(local, "e2e-app")
    assert [e["externalId"] for e in expected] == [e["id"] for e in mine]

    status, started = local.request("POST", "/exports", {"format": "parquet"}, client="e2e-app")
    assert status == 202 and started["export"]["state"] == "waiting", started
    export = finished(local, started["export"]["id"], "e2e-app")
    assert export["state"] == "completed" and export["events"] == 4, export
    assert [f["name"] for f in export["files"]] == ["dt=2024-05-01/part-00000.parquet", "dt=2024-05-02/part-00000.parquet",
                                                    "dt=2024-05-03/part-00000.parquet"]
    files = []
    for file in export["files"]:
        status, data = fetch(local, file["url"], "e2e-app")
        assert status == 200 and len(data) == file["bytes"], file
        files.append(data)
    types, rows = parquet_rows(files, tmp_path)
    assert types["eventTime"] == "TIMESTAMP WITH TIME ZONE" and types["allocatedId"] == "BIGINT", types
    assert [r["id"] for r in rows] == [e["externalId"] for e in expected]
    for row, event in zip(rows, expected):
        assert row["allocatedId"] == int(event["id"])
        assert row["clientAppId"] == "e2e-app" and row["actorId"] == event["actor"]["id"]
        assert row["eventTime"] == instant(event["eventTime"])
        assert json.loads(row["event"]) == event

    # Another client learns nothing of it, neither the export nor its files.
    status, _ = local.request("GET", f"/exports/{export['id']}", client="e2e-other")
    assert status == 404
    if export["files"][0]["url"].startswith(local.url):
        status, _ = fetch(local, export["files"][0]["url"], "e2e-other")
        assert status == 404
    # Nor may it ask for another's events.
    status, refused = local.request("POST", "/exports", {"format": "parquet", "clientAppId": "e2e-app"}, client="e2e-other")
    assert status == 400 and [e["path"] for e in refused["errors"]] == ["/clientAppId"], refused


@pytest.mark.parametrize("backend", ["embedded", "aws"])
def test_an_ndjson_export_holds_events_as_get_returns_them_filtered_as_the_listing(backend, request):
    local = request.getfixturevalue(backend)
    events = [tool_use(t) for t in ("2024-04-30T23:59:59.999Z", "2024-05-01T00:00:00.000Z", "2024-05-02T00:00:00.000Z")]
    send(local, "e2e-app", events)
    body = {"format": "ndjson", "startDate": "2024-05-01", "endDate": "2024-05-01"}
    status, started = local.request("POST", "/exports", body, client="e2e-app")
    assert status == 202, started
    export = finished(local, started["export"]["id"], "e2e-app")
    assert [f["name"] for f in export["files"]] == ["dt=2024-05-01/part-00000.ndjson.gz"], export
    status, data = fetch(local, export["files"][0]["url"], "e2e-app")
    assert status == 200
    lines = [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]
    status, one = local.request("GET", f"/caliper/events/{events[1]['id']}", client="e2e-app")
    assert status == 200 and lines == [one["event"]], (lines, one)

    status, invalid = local.request("POST", "/exports", {"format": "csv", "endDate": "soon"}, client="e2e-app")
    assert status == 400 and [e["path"] for e in invalid["errors"]] == ["/format", "/endDate"], invalid
