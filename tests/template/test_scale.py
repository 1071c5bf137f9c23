"""The scale model (functions/README.md, "Scale") and the template agree: every figure of its table is
recomputed from the template's parameters and AWS's default quotas, and at the defaults of every
environment the API's own throttle binds before anything behind it."""
import functools
import re
import tomllib
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]

# AWS's default quotas (US East, December 2026).
API_ACCOUNT_RPS = 10_000          # API Gateway, per account and region
LAMBDA_CONCURRENCY = 1_000        # per account and region
PARTITION_WRITES = 1_000          # DynamoDB write units/s of one partition (one key, one item)
TABLE_WRITES = 40_000             # on demand, per table and per index
# Measured at the template's 256 MB (tests/e2e/memory.py, release builds, 2026-12-07): a batch of
# ten messages of one event, and of ten events each; a submission of ten events (the mean).
PROCESSOR_BATCH_SECONDS = {1: 0.28, 10: 0.70}
SUBMISSION_SECONDS = 0.025

ENVELOPE = 10                     # the table's first column: envelopes of 10; the second: one event


@functools.cache
def template():
    return cfn_yaml.load(str(ROOT / "template.yaml"))


def parameters(environment=None):
    """The template's parameter values: defaults, with an environment's samconfig overrides."""
    values = {name: p.get("Default") for name, p in template()["Parameters"].items()}
    if environment:
        config = tomllib.loads((ROOT / "samconfig.toml").read_text())
        overrides = config[environment]["deploy"]["parameters"].get("parameter_overrides", "")
        values.update(pair.split("=", 1) for pair in overrides.split())
    return values


def resolve(value, params):
    return int(params[value["Ref"]]) if isinstance(value, dict) else int(value)


def queue_mappings(params):
    """(resource, batch size, maximum concurrency) of every SQS event source mapping: a function's
    SQS events, and mappings of their own (the Canvas queue's). One without a ceiling fails here."""
    for name, resource in template()["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            mappings = [e["Properties"] for e in resource["Properties"].get("Events", {}).values() if e["Type"] == "SQS"]
        elif resource["Type"] == "AWS::Lambda::EventSourceMapping":
            mappings = [resource["Properties"]]
        else:
            continue
        for p in mappings:
            assert "ScalingConfig" in p, f"{name}'s queue mapping has no MaximumConcurrency"
            yield name, int(p.get("BatchSize", 10)), resolve(p["ScalingConfig"]["MaximumConcurrency"], params)


def batch_seconds(per_request):
    """A processor batch's time with messages of `per_request` events: the line through the two
    measurements (its CPU grows with the events, at 256 MB it is CPU-bound)."""
    (few, short), (many, long) = sorted(PROCESSOR_BATCH_SECONDS.items())
    return short + (long - short) * (per_request - few) / (many - few)


def model(params, per_request):
    """Events/s each limit allows when every request carries `per_request` events."""
    mappings = {name: (batch, most) for name, batch, most in queue_mappings(params)}
    batch, processors = mappings["ProcessEventsFunction"]
    reserved = sum(most for _, most in mappings.values())
    return {
        "API throttle": int(params["ThrottleRateLimit"]) * per_request,
        "Event ids": PARTITION_WRITES * per_request,
        "Listing indexes": int(params["IndexShards"]) * PARTITION_WRITES,
        "Processor": round(processors * batch / batch_seconds(per_request)) * per_request,
        "Events table": int(TABLE_WRITES / (1 + 1 / per_request)),
        "API Gateway quota": API_ACCOUNT_RPS * per_request,
        "Lambda concurrency": round((LAMBDA_CONCURRENCY - reserved) / SUBMISSION_SECONDS) * per_request,
    }


def readme_table():
    """Limit → (events/s in envelopes of 10, events/s one event a request), from the README's table."""
    text = (ROOT / "functions" / "README.md").read_text()
    section = text.split("\n## Scale\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[\d,]+", cells[2]):
            rows[cells[0]] = (int(cells[2].replace(",", "")), int(cells[3].replace(",", "")))
    return rows


def test_the_readme_states_what_the_template_allows():
    params = parameters()
    enveloped, single = model(params, ENVELOPE), model(params, 1)
    table = readme_table()
    assert set(table) == set(enveloped), "the README's limits are not the model's"
    for limit, (ten, one) in table.items():
        assert (ten, one) == (enveloped[limit], single[limit]), limit


def door_binds_first(params, per_request):
    limits = model(params, per_request)
    door = limits.pop("API throttle")
    return all(door < allowed for allowed in limits.values())


def test_the_readme_says_up_to_which_envelope_the_throttle_binds_first():
    params = parameters()
    largest = max(n for n in range(1, 4001) if door_binds_first(params, n))
    text = (ROOT / "functions" / "README.md").read_text()
    stated = re.search(r"for envelopes of up to (\d+) events", text)
    assert stated and int(stated[1]) == largest, largest
    assert not door_binds_first(params, largest + 1)


def test_the_api_throttle_binds_first_in_every_environment():
    for environment in (None, "staging", "prod"):
        params = parameters(environment)
        for per_request in (1, ENVELOPE):
            limits = model(params, per_request)
            door = limits.pop("API throttle")
            behind = min(limits, key=limits.get)
            assert door < limits[behind], (
                f"{environment or 'defaults'}, {per_request} events a request: {behind} allows "
                f"{limits[behind]} events/s, the API admits {door}")


def test_the_queue_mappings_leave_the_account_its_concurrency():
    # The API's functions (submission, reads, the authorizer) take what the mappings leave.
    reserved = sum(most for _, _, most in queue_mappings(parameters()))
    assert reserved <= LAMBDA_CONCURRENCY // 10, reserved
