"""The OpenAPI 3.1 description (shared/http/openapi.json, served at /openapi.json): valid, public,
the routes and scopes of the code exactly, and true of the running API — schemathesis, with a
valid token, finds no response that contradicts it and no 5xx."""
import json
import subprocess
import sys
from pathlib import Path

from openapi_spec_validator import validate

from conftest import ROOT, SCOPE
from test_auth import envelope, routes

DESCRIPTION = ROOT / "shared" / "http" / "openapi.json"


def served(local):
    status, description = local.request("GET", "/openapi.json", token="")
    assert status == 200, description
    return description


def test_the_description_is_public_valid_and_the_one_in_the_repository(embedded):
    description = served(embedded)
    assert description == json.loads(DESCRIPTION.read_text())
    assert description["openapi"] == "3.1.0"
    validate(description)


def test_the_description_has_exactly_the_routes_and_scopes_of_the_code(embedded):
    described = {}
    for path, methods in served(embedded)["paths"].items():
        for method, operation in methods.items():
            scopes = {scope for requirement in operation["security"] for scope in requirement.get("oauth2", [])}
            described[(method.upper(), path)] = scopes
            if scopes:
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path} documents its refusals"
            assert any(code.startswith("2") for code in operation["responses"]), f"{method} {path} documents success"
    assert described == {(r["method"], r["documentedPath"]): set(r["scopes"]) for r in routes()}
    assert all(s.startswith(SCOPE) for scopes in described.values() for s in scopes)


def test_schemathesis_finds_nothing(embedded):
    # Stored events, so that listings and reads have something to answer and be checked on.
    status, reply = embedded.request("POST", "/caliper/event", envelope())
    assert status == 200, reply
    assert embedded.wait_for_job(reply["jobId"])["state"] == "completed"
    # Admin opens every route: the webhook routes are exercised too, not only refused.
    token = embedded.access_token("e2e-admin")
    run = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(ROOT / "tests" / "schemathesis.toml"),
         "run", embedded.url + "/openapi.json", "--header", f"Authorization: Bearer {token}",
         "--checks", "all", "--max-examples", "50", "--seed", "1", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=ROOT / "target",
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failures" not in run.stdout.split("SUMMARY")[-1], run.stdout[-3000:]
