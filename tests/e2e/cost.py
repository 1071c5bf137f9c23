"""What the deployed API costs, counted: the function binaries run a fixed workload under the
Lambda Runtime API emulator against moto, through a metering proxy that records every DynamoDB,
SQS and KMS request. DynamoDB's capacity is computed from the items themselves with its metering
rules (moto's ConsumedCapacity is a constant), and priced at on-demand list prices.

    target/test-venv/bin/python tests/e2e/cost.py [--events 10000] [--per-envelope 10]

Needs `cargo build --bins`; uses moto at $CALIPER_TEST_MOTO_URL (default http://127.0.0.1:5000),
or starts one there (from `target/test-venv`, which `tests/run.sh` makes) when none answers.
"""
import argparse
import atexit
import base64
import subprocess
import json
import math
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from lambda_emulator import DEBUG, EVENTS_DIR, ROOT, Receiver, Stack, client, make_resources  # noqa: E402

# US East (N. Virginia), on demand, list prices as published in December 2026.
PRICES = {
    "dynamodb_write_unit": 0.625 / 1e6,   # per write request unit
    "dynamodb_read_unit": 0.125 / 1e6,    # per read request unit
    "dynamodb_gb_month": 0.25,            # standard table class
    "sqs_request": 0.40 / 1e6,            # standard queue, per 64 KiB chunk of a request
    "kms_request": 0.03 / 1e4,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000133334,     # arm64
    "http_api_request": 1.00 / 1e6,       # per 512 KiB of a request, first 300 million a month
}
ITEM_OVERHEAD = 100  # bytes DynamoDB adds to each stored item and index entry


def value_size(value):
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        # base64 on the wire; bytes from boto3
        return len(v) if isinstance(v, bytes) else len(base64.b64decode(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(value_size(x) + 1 for x in v)
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(value_size({"N": x}) for x in v)
    raise ValueError(kind)


def item_size(item):
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


class Meter:
    """A proxy in front of moto that prices what passes through it."""

    def __init__(self, moto):
        self.moto, self.lock = moto, threading.Lock()
        self.calls = Counter()          # (service, operation) → requests
        self.units = defaultdict(float)  # "write"/"read"/"sqs"/"kms" → units, per phase
        self.phase = "setup"
        self.direct = client("dynamodb", moto)
        self.indexes = {}
        meter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                before = meter.before(target, body)
                request = urllib.request.Request(meter.moto + self.path, data=body, method="POST")
                for name, value in self.headers.items():
                    if name.lower() not in ("host", "content-length", "connection"):
                        request.add_header(name, value)
                try:
                    with urllib.request.urlopen(request) as answer:
                        status, headers, reply = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as error:
                    status, headers, reply = error.code, error.headers, error.read()
                meter.record(target, body, reply, status, before)
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, what, units):
        with self.lock:
            self.units[(self.phase, what)] += units

    def gsis(self, table):
        if table not in self.indexes:
            described = self.direct.describe_table(TableName=table)["Table"]
            keys = [k["AttributeName"] for k in described["KeySchema"]]
            self.indexes[table] = (keys, [
                ([k["AttributeName"] for k in g["KeySchema"]], g["Projection"])
                for g in described.get("GlobalSecondaryIndexes", [])])
        return self.indexes[table]

    def index_writes(self, table, item):
        keys, gsis = self.gsis(table)
        units = 0
        for gsi_keys, projection in gsis:
            if not all(k in item for k in gsi_keys):
                continue
            kept = set(keys) | set(gsi_keys)
            if projection["ProjectionType"] == "ALL":
                kept = set(item)
            elif projection["ProjectionType"] == "INCLUDE":
                kept |= set(projection["NonKeyAttributes"])
            units += math.ceil(item_size({k: v for k, v in item.items() if k in kept}) / 1024)
        return units

    def stored_bytes(self, table, item):
        keys, gsis = self.gsis(table)
        total = item_size(item) + ITEM_OVERHEAD
        for gsi_keys, projection in gsis:
            if all(k in item for k in gsi_keys):
                kept = set(keys) | set(gsi_keys) | set(projection.get("NonKeyAttributes", []))
                total += item_size({k: v for k, v in item.items() if k in kept}) + ITEM_OVERHEAD
        return total

    def before(self, target, body):
        """What an update must be priced on: the item before it."""
        if target.endswith(".UpdateItem"):
            request = json.loads(body)
            old = self.direct.get_item(TableName=request["TableName"], Key=request["Key"],
                                       ConsistentRead=True).get("Item")
            return item_size(old) if old else 0
        return None

    def record(self, target, body, reply, status, before):
        service, _, operation = target.partition(".")
        service = {"DynamoDB_20120810": "dynamodb", "AmazonSQS": "sqs", "TrentService": "kms"}.get(service, service)
        with self.lock:
            self.calls[(self.phase, service, operation)] += 1
        request = json.loads(body or b"{}")
        answer = json.loads(reply or b"{}") if status == 200 else {}
        if service == "sqs":
            size = len(body)
            self.add("sqs", max(1, math.ceil(size / 65536)))
        elif service == "kms":
            self.add("kms", 1)
        elif service == "dynamodb":
            self.dynamodb(operation, request, answer, status, before)

    def dynamodb(self, operation, request, answer, status, before):
        eventual = 0.5
        if operation == "PutItem":
            item = request["Item"]
            units = math.ceil(item_size(item) / 1024)
            if status == 200:
                index_units = self.index_writes(request["TableName"], item)
                units += index_units
                if "doc" in item:
                    self.add("event items", 1)
                    self.add("event item bytes", item_size(item))
                    self.add("event item units", math.ceil(item_size(item) / 1024))
                    self.add("index units", index_units)
            self.add("write", units)
        elif operation == "UpdateItem":
            table = request["TableName"]
            new = self.direct.get_item(TableName=table, Key=request["Key"], ConsistentRead=True).get("Item")
            after = item_size(new) if new else 0
            self.add("write", max(1, math.ceil(max(before or 0, after) / 1024)))
        elif operation in ("GetItem", "BatchGetItem", "Query"):
            if operation == "GetItem":
                reads = [(request.get("ConsistentRead", False), [answer.get("Item")] if answer.get("Item") else [])]
                per_item = True
            elif operation == "BatchGetItem":
                # Each key is read as a GetItem would: a key with no item still costs a unit.
                found = answer.get("Responses", {})
                reads = [(asked.get("ConsistentRead", False),
                          found.get(t, []) + [{}] * (len(asked["Keys"]) - len(found.get(t, []))))
                         for t, asked in request["RequestItems"].items()]
                per_item = True
            else:
                items = answer.get("Items", [])
                scanned, count = answer.get("ScannedCount", len(items)), max(1, len(items))
                size = sum(item_size(i) for i in items) * (scanned / count if items else 1)
                units = max(1, math.ceil(size / 4096))
                self.add("read", units * (1 if request.get("ConsistentRead") else eventual))
                return
            for consistent, items in reads:
                units = sum(max(1, math.ceil(item_size(i) / 4096)) for i in items) if per_item else 0
                self.add("read", max(units, 1) * (1 if consistent else eventual))
        elif operation == "DeleteItem":
            self.add("write", 1)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def envelope(client_index, n, events_per):
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    data = []
    for i in range(events_per):
        user = f"https://example.edu/users/{(n * events_per + i) % 500}"
        data.append({
            "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2", "id": f"urn:uuid:{uuid.uuid4()}",
            "type": "ActivityEvent", "profile": "TimebackProfile", "action": "Completed",
            "actor": {"id": user, "type": "TimebackUser", "email": f"student{(n * events_per + i) % 500}@example.edu",
                      "name": "A Student", "role": "student"},
            "object": {"id": f"https://example.edu/activities/{n % 50}", "type": "TimebackActivityContext",
                       "subject": "Math", "app": {"name": "Example Math", "id": "https://example.edu/apps/math"},
                       "course": {"name": "Algebra I"}, "activity": {"name": f"Lesson {n % 50}"}},
            "generated": {"id": f"https://example.edu/metrics/{uuid.uuid4()}", "type": "TimebackActivityMetricsCollection",
                          "attempt": 1, "items": [{"type": "xpEarned", "value": 12}, {"type": "totalQuestions", "value": 10},
                                                  {"type": "correctQuestions", "value": 8}]},
            "eventTime": now, "edApp": {"id": "https://example.edu/apps/math", "type": "SoftwareApplication"},
            "extensions": {"course": "algebra-1", "grade": 9}})
    return {"sensor": "https://example.edu/sensors/math", "sendTime": now,
            "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": data}


# The binaries the workload runs.
FUNCTIONS = ("submit-events", "process-events", "query-events", "webhooks", "deliver-webhooks")


def ensure_moto(url):
    """moto at `url`: the one answering there, or one started from the test tools (stopped at exit)."""
    def answers():
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2).close()
            return True
        except OSError:
            return False

    if answers():
        return None
    server = ROOT / "target" / "test-venv" / "bin" / "moto_server"
    if not server.exists():
        sys.exit(f"nothing answers at {url} and {server} is missing: run tests/run.sh once (it installs moto), "
                 "or start moto_server and set CALIPER_TEST_MOTO_URL")
    port = urllib.parse.urlsplit(url).port or 5000
    log = open(ROOT / "target" / "moto-cost.log", "ab")
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    atexit.register(process.terminate)
    deadline = time.monotonic() + 30
    while not answers():
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"moto_server did not start on port {port} (is it taken?): see target/moto-cost.log")
        time.sleep(0.1)
    print(f"started moto on {url} (log: target/moto-cost.log)", file=sys.stderr)
    return process


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--per-envelope", type=int, default=10)
    parser.add_argument("--page", type=int, default=100, help="events per listing page")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    moto = os.environ.get("CALIPER_TEST_MOTO_URL", "http://127.0.0.1:5000")
    missing = [name for name in ("caliper-admin", *FUNCTIONS) if not (DEBUG / name).exists()]
    if missing:
        sys.exit(f"cost.py needs the debug binaries ({', '.join(missing)} missing): run `cargo build --bins` first")
    ensure_moto(moto)

    meter = Meter(moto)
    resources = make_resources(moto)
    receiver = Receiver()
    stack = Stack(meter.url, resources, {"CALIPER_WEBHOOK_ALLOW_PRIVATE": "true", "CALIPER_JWKS_URL": resources["jwks"]})
    try:
        report = workload(stack, resources, receiver, moto, args.events, args.per_envelope, args.page,
                          phase=lambda name: setattr(meter, "phase", name))
        storage = stored_bytes(meter, resources["EventsTable"])
        report["storage_bytes_per_event"] = storage / max(1, report["events"] + report["delivered"])
    finally:
        stack.stop()
        receiver.close()
        meter.close()
    figures = print_report(meter, stack, report)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def workload(stack, resources, receiver, moto, events, per_envelope, page, phase):
    """The workload counted: `events` submitted in envelopes of `per_envelope`, processed and
    announced; every event read back by listing in pages of `page`; a webhook made and a tenth as
    many events again fanned out to it. `phase(name)` is told as each phase begins. Its figures."""
    submit = json.loads((EVENTS_DIR / "submit-events.json").read_text())
    envelopes = events // per_envelope
    report = {"events": envelopes * per_envelope}
    phase("ingest")
    started = time.monotonic()
    api_requests = 0
    sample = json.dumps(envelope(0, 0, per_envelope), separators=(",", ":"))
    for n in range(envelopes):
        event = dict(submit, body=json.dumps(envelope(0, n, per_envelope), separators=(",", ":")))
        status, reply = stack.http("submit-events", event)
        assert status == 200, reply
        api_requests += 1
    while queue_depth(moto, resources["EventsQueue"]):
        stack.trigger("EventsQueue", "process-events")
    # The stored events announced to webhook delivery: no webhook yet, so nothing is sent.
    while queue_depth(moto, resources["DeliveryQueue"]):
        stack.trigger("DeliveryQueue", "deliver-webhooks")
    report["ingest_seconds"] = time.monotonic() - started
    report["ingest_invocations"] = sum(f.invocations for f in stack.running.values())
    report["ingest_busy_seconds"] = sum(f.busy_seconds for f in stack.running.values())
    report["ingest_api_requests"] = api_requests

    phase("list")
    listing = json.loads((EVENTS_DIR / "query-events-list.json").read_text())
    cursor, read, pages = None, 0, 0
    while True:
        query = f"limit={page}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        status, answer = stack.http("query-events", dict(listing, rawQueryString=query))
        assert status == 200, answer
        read += len(answer["events"])
        pages += 1
        cursor = answer.get("nextCursor")
        if not cursor:
            break
    report.update(listed=read, pages=pages)

    phase("fan-out")
    create = json.loads((EVENTS_DIR / "webhooks-create.json").read_text())
    body = dict(json.loads(create["body"]), targetUrl=receiver.url, sensor="https://example.edu/sensors/math")
    status, made = stack.http("webhooks", dict(create, body=json.dumps(body)))
    assert status == 201, made
    fan_out = max(1, events // 10)
    for n in range(fan_out // per_envelope):
        event = dict(submit, body=json.dumps(envelope(0, envelopes + n, per_envelope), separators=(",", ":")))
        assert stack.http("submit-events", event)[0] == 200
    phase("fan-out-ingest")
    while queue_depth(moto, resources["EventsQueue"]):
        stack.trigger("EventsQueue", "process-events")
    phase("fan-out")
    while queue_depth(moto, resources["DeliveryQueue"]):
        stack.trigger("DeliveryQueue", "deliver-webhooks")
    with receiver.arrived:
        receiver.arrived.wait_for(lambda: len(receiver.posts) >= fan_out // per_envelope * per_envelope, 120)
    report["delivered"] = len(receiver.posts)
    report["sample_envelope_bytes"] = len(sample)
    return report


def queue_depth(moto, url):
    """Messages on the queue at `url`, asked of moto itself (not through the meter)."""
    attributes = client("sqs", moto).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def stored_bytes(meter, table):
    total, start = 0, None
    while True:
        page = meter.direct.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        total += sum(meter.stored_bytes(table, item) for item in page["Items"] if "doc" in item)
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def print_report(meter, stack, report):
    p = PRICES
    invocations = Counter()
    seconds = Counter()
    for name, function in stack.running.items():
        invocations[name] = function.invocations
        seconds[name] = function.busy_seconds
    per_million = 1e6 / report["events"]
    units = meter.units
    ingest = {
        "DynamoDB writes": units[("ingest", "write")] * p["dynamodb_write_unit"],
        "DynamoDB reads": units[("ingest", "read")] * p["dynamodb_read_unit"],
        "SQS": units[("ingest", "sqs")] * p["sqs_request"],
        "API Gateway": report["ingest_api_requests"] * p["http_api_request"],
        "Lambda requests": report["ingest_invocations"] * p["lambda_request"],
        # Wall time under the emulator, debug builds against moto: far above what Lambda bills.
        "Lambda compute*": report["ingest_busy_seconds"] * 0.25 * p["lambda_gb_second"],
    }
    print(f"# Cost, counted: {report['events']} events in envelopes of {report['events'] // report['ingest_api_requests']}"
          f" ({report['sample_envelope_bytes']} bytes each)")
    print("\nPer million events ingested (submit, process, announce), US$:")
    for what, cost in ingest.items():
        print(f"  {what:18} {cost * per_million:8.3f}")
    total = sum(ingest.values()) * per_million
    print(f"  {'total':18} {total:8.3f}")
    stored = max(1, units[("ingest", "event items")])
    print(f"  write units per event: {units[('ingest', 'write')] / report['events']:.2f}: the event's item"
          f" {units[('ingest', 'event item units')] / stored:.2f} ({units[('ingest', 'event item bytes')] / stored:.0f} bytes),"
          f" its index entries {units[('ingest', 'index units')] / stored:.2f}, the rest jobs and the id counter")
    listed = report["listed"]
    listing = (units[("list", "read")] * p["dynamodb_read_unit"] + units[("list", "kms")] * p["kms_request"]
               + report["pages"] * (p["http_api_request"] + p["lambda_request"]))
    print(f"\nPer million events read by listing (pages of {listed // max(1, report['pages'])}), US$: "
          f"{listing * 1e6 / max(1, listed):.3f}  (read units per page: {units[('list', 'read')] / report['pages']:.1f}; "
          f"KMS {units[('list', 'kms')] / report['pages']:.0f} per page)")
    delivered = max(1, report["delivered"])
    fan_out = (units[("fan-out", "read")] * p["dynamodb_read_unit"] + units[("fan-out", "sqs")] * p["sqs_request"]
               + units[("fan-out", "kms")] * p["kms_request"] + units[("fan-out", "write")] * p["dynamodb_write_unit"])
    print(f"\nPer million webhook deliveries, US$: {fan_out * 1e6 / delivered:.3f}"
          f"  (KMS {units[('fan-out', 'kms')] / delivered:.2f} per delivery)")
    gb = report["storage_bytes_per_event"] * 1e6 / 1e9
    print(f"\nStorage per million events: {gb:.2f} GB, US${gb * p['dynamodb_gb_month']:.2f} a month"
          f" ({report['storage_bytes_per_event']:.0f} bytes an event with its index entries)")
    print("\nRequests by phase:")
    for (phase, service, operation), n in sorted(meter.calls.items()):
        print(f"  {phase:15} {service:9} {operation:24} {n}")
    print("\nInvocations:", dict(invocations))
    print("* Lambda compute: the functions' wall time under the emulator against moto, at 256 MB with the whole"
          " machine's CPU; tests/e2e/memory.py measures it per memory size")
    return {"ingest_per_million": total, "listing_per_million": listing * 1e6 / max(1, listed),
            "delivery_per_million": fan_out * 1e6 / delivered, "storage_gb_per_million": gb,
            "write_units_per_event": units[("ingest", "write")] / report["events"],
            "event_item_units": units[("ingest", "event item units")] / stored,
            "index_units_per_event": units[("ingest", "index units")] / stored,
            "listed": listed, "delivered": report["delivered"]}


if __name__ == "__main__":
    main()
