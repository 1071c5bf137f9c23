"""Caliper 1.2 through caliper-local's HTTP endpoints: the spec's fixtures on the validate route,
and section 6's endpoint behaviour (configuration, 400, 415, 422). Caliper 1.1 and the IMS
sensors' output: test_producers.py.

The fixtures are read at test time from the team's shared folder beside the repository, or from
$CALIPER_SPEC_DIR."""
import json
import os
import re
from pathlib import Path

import pytest

from conftest import ROOT

SPEC = Path(os.environ.get("CALIPER_SPEC_DIR", ROOT.parent / "shared" / "caliper"))
V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"


def fixtures(kind):
    folder = SPEC / "fixtures" / kind
    found = sorted(folder.glob("*.json"))
    assert found, f"no Caliper fixtures in {folder}; set CALIPER_SPEC_DIR to the folder holding fixtures/"
    return [(path.stem, json.loads(path.read_text())) for path in found]


def as_envelope(fixture):
    if "data" in fixture:
        return fixture
    return {"sensor": "https://example.edu/sensors/1", "sendTime": "2024-05-01T12:00:00.000Z",
            "dataVersion": V1P2, "data": [fixture]}


def blamed_path(name):
    """`caliperEntityAttempt-MalformedCountNotAnInt` -> `/data/0/count`."""
    flaw = re.sub(r"^(Malformed|Malfromed|Null|No|Unknown|Wrong)", "", name.split("-", 1)[1])
    field = re.split(r"(?<=.)(?=NotA|NotValid|Invalid|Unknown|Wrong|Contain|ListElement|NoValue|NotPresent)", flaw)[0]
    field = {"Context": "@context", "EventType": "type"}.get(field, field[:1].lower() + field[1:])
    return f"/data/0/{field}"


def test_the_blamed_path_reads_the_fixture_name():
    assert blamed_path("caliperEntityAggregateMeasure-MalformedMetricValueNotPresent") == "/data/0/metricValue"
    assert blamed_path("caliperEntity-UnknownContext") == "/data/0/@context"
    assert blamed_path("caliperEvent-NoId") == "/data/0/id"


def test_every_valid_fixture_is_accepted(embedded):
    rejected = {}
    for name, fixture in fixtures("valid"):
        status, body = embedded.request("POST", "/caliper/event/validate", as_envelope(fixture))
        if (status, body.get("status")) != (200, "success"):
            rejected[name] = body
    assert not rejected, json.dumps(rejected, indent=1)[:4000]


# Common errors a decision accepts (shared/validation/README.md; the same list as the library's test).
ACCEPTED_BY_DECISION = {
    "caliperEntityAssignableDigitalResource-MalformedMaxScoreNotAFloat": "any JSON number is a decimal",
    "caliperEntityResult-MalformedAttemptNoValue": "an optional property given as null is absent",
}


def test_common_errors_accepted_by_a_decision_are_accepted(embedded):
    invalid = dict(fixtures("invalid"))
    for name, reason in ACCEPTED_BY_DECISION.items():
        status, body = embedded.request("POST", "/caliper/event/validate", as_envelope(invalid[name]))
        assert (status, body["status"]) == (200, "success"), (name, reason, body)


def test_every_invalid_fixture_is_rejected_where_its_name_says(embedded):
    missed = {}
    for name, fixture in fixtures("invalid"):
        if name in ACCEPTED_BY_DECISION:
            continue
        status, body = embedded.request("POST", "/caliper/event/validate", as_envelope(fixture))
        expected = blamed_path(name)
        paths = [e["path"] for e in body.get("errors", [])]
        pointed = any(p == expected or p.startswith(expected + "/") for p in paths)
        if status != 200 or body.get("status") != "error" or not pointed:
            missed[name] = {"status": status, "expected": expected, "body": body}
        assert all(e["message"] for e in body.get("errors", [])), body
    assert not missed, json.dumps(missed, indent=1)[:4000]


def test_the_endpoint_configuration(embedded):
    status, body = embedded.request("GET", "/caliper/event")
    assert status == 200, body
    assert body["caliper_supported_versions"] == [V1P2, "http://purl.imsglobal.org/ctx/caliper/v1p1"]
    assert body["caliper_maximum_payload_size"] == 5 * 1024
    assert "TimebackProfile" in body["caliper_supported_extensions"]["profiles"]


def test_an_unsupported_data_version_is_422_and_nothing_is_accepted(embedded):
    envelope = as_envelope(fixtures("valid")[0][1])
    envelope["dataVersion"] = "http://purl.imsglobal.org/ctx/caliper/v1p0"
    status, body = embedded.request("POST", "/caliper/event", envelope)
    assert status == 422, body
    assert body["status"] == "error" and "jobId" not in body
    assert [e["path"] for e in body["errors"]] == ["/dataVersion"]
    status, body = embedded.request("POST", "/caliper/event/validate", envelope)
    assert (status, body["status"]) == (200, "error")


@pytest.mark.parametrize("path", ["/caliper/event", "/caliper/event/validate"])
def test_section_6_answers(embedded, path):
    status, body = embedded.request("POST", path, b"<envelope/>", content_type="application/xml")
    assert status == 415 and body["status"] == "error", body
    status, body = embedded.request("POST", path, b"{not json")
    assert status == 400 and body["status"] == "error", body
    status, body = embedded.request("POST", path, {"no": "envelope"})
    expected = 400 if path == "/caliper/event" else 200
    assert status == expected and body["status"] == "error", body
    assert {e["path"] for e in body["errors"]} >= {"/sensor", "/sendTime", "/dataVersion", "/data", "/no"}
