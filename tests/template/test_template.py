"""The SAM template and the code agree: the same functions, the same routes, and cfn-lint is content."""
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SCOPE = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/"


def template():
    return cfn_yaml.load(str(TEMPLATE))


def functions_in_template():
    """Binary name → the function's resource properties."""
    return {
        resource["Metadata"]["BuildProperties"]["Binary"]: resource["Properties"]
        for resource in template()["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def functions_in_workspace():
    return {
        tomllib.loads((crate / "Cargo.toml").read_text())["package"]["name"]
        for crate in (ROOT / "functions").iterdir()
        if (crate / "Cargo.toml").exists()
    }


def routes_in_code():
    binary = ROOT / "target" / "debug" / "caliper-local"
    return json.loads(subprocess.run([str(binary), "--routes"], check=True, capture_output=True, text=True).stdout)


def test_cfn_lint_passes():
    env = dict(os.environ, AWS_DEFAULT_REGION="us-east-1")
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_is_deployed_and_every_deployed_function_exists():
    assert set(functions_in_template()) == functions_in_workspace()


def test_every_route_is_deployed_to_its_function_with_its_scopes():
    deployed = set()
    for binary, properties in functions_in_template().items():
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                p = event["Properties"]
                scopes = p["Auth"]["AuthorizationScopes"]
                assert all(s.startswith(SCOPE) for s in scopes), scopes
                deployed.add((p["Method"], p["Path"], binary, frozenset(scopes)))
    in_code = {(r["method"], r["path"], r["function"], frozenset(r["scopes"])) for r in routes_in_code()}
    assert deployed == in_code


def test_the_processor_is_fed_by_the_queue_with_partial_batch_failures():
    events = functions_in_template()["process-events"]["Events"].values()
    sqs = [e["Properties"] for e in events if e["Type"] == "SQS"]
    assert len(sqs) == 1
    assert sqs[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_events_table_has_the_indexes_the_code_queries():
    binary = ROOT / "target" / "debug" / "caliper-local"
    wanted = json.loads(subprocess.run([str(binary), "--event-indexes"], check=True, capture_output=True, text=True).stdout)
    table = template()["Resources"]["EventsTable"]["Properties"]
    assert json.loads(json.dumps(table["GlobalSecondaryIndexes"])) == wanted
    defined = {a["AttributeName"] for a in table["AttributeDefinitions"]}
    keys = {k["AttributeName"] for index in wanted for k in index["KeySchema"]}
    assert keys <= defined, f"key attributes without a definition: {keys - defined}"
