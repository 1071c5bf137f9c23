"""Webhooks through caliper-local, on the embedded store and on DynamoDB and SQS (moto): the official
timeback-webhooks client manages webhooks and filters unchanged; a webhook with filters receives
exactly the matching events, signed so that the verification snippet of shared/core/README.md accepts them; a
receiver that fails twice gets the event once more after each failure and then no more; private
targets are refused unless caliper-local allows them."""
import asyncio
import copy
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from timeback_webhooks import WebhooksClient

from conftest import CLIENTS, ROOT, start_local
from test_auth import EXAMPLE

SENSOR = EXAMPLE["sensor"]
# Retries a tenth of a second apart locally (whole seconds on SQS), so that the tests are quick.
FLAGS = ["--allow-private-webhooks", "--webhook-retry-ms", "100", "--webhook-retry-max-ms", "400"]


def readme_snippet():
    """The verification snippet of the webhooks' reference, run as a receiver would run it."""
    readme = (ROOT / "shared" / "core" / "README.md").read_text()
    code = re.search(r"```python\n((?:(?!```).)*?def verify_caliper_signature.*?)```", readme, re.S)
    assert code, "shared/core/README.md shows verify_caliper_signature"
    scope = {}
    exec(code.group(1), scope)
    return scope["verify_caliper_signature"]


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records every POST; `script[path]` lists the statuses to
    answer in turn (then 204)."""

    def __init__(self):
        self.received, self.script, self.lock = [], {}, threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append((self.path, self.headers, body))  # case-insensitive
                    statuses = receiver.script.get(self.path, [])
                    status = statuses.pop(0) if statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def at(self, path):
        with self.lock:
            return [(headers, body) for p, headers, body in self.received if p == path]

    def wait(self, path, count, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.at(path)) < count:
            time.sleep(0.05)
        return self.at(path)


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(params=["embedded", "aws"])
def local(request, tmp_path):
    """caliper-local that may deliver to this machine, with quick retries."""
    local = start_local(request.param, tmp_path, *FLAGS)
    yield local
    local.stop()


def client_of(local, client="e2e-subscriber"):
    return WebhooksClient(base_url=local.url, auth_url=local.url + "/oauth2/token",
                          client_id=client, client_secret=CLIENTS[client][0])


def events():
    """Six ToolUseEvents by three people, and six plain Events: ids new each time."""
    tool_use, plain = EXAMPLE["data"]
    made = []
    for n in range(6):
        tool = copy.deepcopy(tool_use)
        tool["id"] = f"urn:uuid:{uuid.uuid4()}"
        tool["actor"]["id"] = f"https://example.edu/users/{n % 3}"
        made.append(tool)
        made.append(dict(plain, id=f"urn:uuid:{uuid.uuid4()}"))
    return made


def submit(local, data, client="e2e-subscriber"):
    status, reply = local.request("POST", "/caliper/event", dict(EXAMPLE, data=data), client=client)
    assert status == 200, reply
    assert local.wait_for_job(reply["jobId"], client=client)["state"] == "completed"


def test_the_official_client_manages_webhooks_and_filters_unchanged(local, receiver):
    async def scenario():
        client = client_of(local)
        created = await client.webhooks.create({"name": "Dashboard", "targetUrl": receiver.url + "/dashboard",
                                                "secret": "whsec-dashboard-0123456789", "active": True, "sensor": SENSOR,
                                                "description": "every event of sensor 1"})
        assert (created.name, created.target_url, created.sensor, created.active) == ("Dashboard", receiver.url + "/dashboard", SENSOR, True)
        assert [w.id for w in await client.webhooks.list()] == [created.id]
        assert [w.id for w in await client.webhooks.list(sensor=SENSOR)] == [created.id]
        assert await client.webhooks.list(sensor="https://example.edu/other") == []
        assert (await client.webhooks.get(created.id)).model_dump() == created.model_dump()
        updated = await client.webhooks.update(created.id, {"name": "Renamed", "targetUrl": receiver.url + "/renamed",
                                                            "secret": "whsec-2-0123456789", "active": True})
        assert (updated.name, updated.sensor, updated.secret) == ("Renamed", None, "whsec-2-0123456789")
        assert (await client.webhooks.deactivate(created.id)).active is False
        assert (await client.webhooks.activate(created.id)).active is True

        made = await client.webhook_filters.create({"webhookId": created.id, "filterKey": "actor.id",
                                                    "filterValue": "https://example.edu/users/1", "filterType": "string",
                                                    "filterOperator": "eq", "active": True})
        assert (made.webhook_id, made.filter_operator, made.filter_type) == (created.id, "eq", "string")
        assert [f.id for f in await client.webhook_filters.list()] == [made.id]
        assert [f.id for f in await client.webhook_filters.list_by_webhook(created.id)] == [made.id]
        assert (await client.webhook_filters.get(made.id)).filter_value == "https://example.edu/users/1"
        changed = await client.webhook_filters.update(made.id, {"webhookId": created.id, "filterKey": "type",
                                                               "filterValue": "ToolUseEvent,Event", "filterType": "string",
                                                               "filterOperator": "in", "active": False})
        assert (changed.filter_operator, changed.active) == ("in", False)
        assert (await client.webhook_filters.delete(made.id)).message
        assert await client.webhook_filters.list() == []
        assert (await client.webhooks.delete(created.id)).message
        assert await client.webhooks.list() == []

        # Another client sees none of it.
        mine = await client.webhooks.create({"name": "Mine", "targetUrl": receiver.url + "/mine", "secret": "s3cret-0123456789abcdef", "active": True})
        assert await client_of(local, "e2e-webhooks").webhooks.list() == []
        assert [w.id for w in await client.webhooks.list()] == [mine.id]
    asyncio.run(scenario())


def test_a_filtered_webhook_receives_exactly_the_matching_events_signed(local, receiver):
    async def subscribe():
        client = client_of(local)
        people = await client.webhooks.create({"name": "People 0 and 2", "targetUrl": receiver.url + "/people",
                                               "secret": "whsec-people-0123456789", "active": True})
        for key, value, operator in [("type", "ToolUseEvent", "eq"),
                                     ("actor.id", "https://example.edu/users/0, https://example.edu/users/2", "in")]:
            await client.webhook_filters.create({"webhookId": people.id, "filterKey": key, "filterValue": value,
                                                 "filterType": "string", "filterOperator": operator, "active": True})
        await client.webhook_filters.create({"webhookId": people.id, "filterKey": "type", "filterValue": "Nothing",
                                             "filterType": "string", "filterOperator": "eq", "active": False})
        everything = await client.webhooks.create({"name": "All", "targetUrl": receiver.url + "/all",
                                                   "secret": "whsec-all-0123456789", "active": True})
        await client.webhooks.create({"name": "Other sensor", "targetUrl": receiver.url + "/other",
                                      "secret": "whsec-other-0123456789", "active": True, "sensor": "https://example.edu/other"})
        await client.webhooks.create({"name": "Off", "targetUrl": receiver.url + "/off", "secret": "whsec-off-0123456789", "active": False})
        return people, everything
    people, everything = asyncio.run(subscribe())

    sent = events()
    submit(local, sent)
    submit(local, events(), client="e2e-app")  # another client's events: not the subscriber's to receive
    wanted = {e["id"] for e in sent if e["type"] == "ToolUseEvent" and e["actor"]["id"].endswith(("/0", "/2"))}
    assert len(wanted) == 4

    verify = readme_snippet()
    for path, webhook, secret, expected in [("/people", people, "whsec-people-0123456789", wanted),
                                            ("/all", everything, "whsec-all-0123456789", {e["id"] for e in sent})]:
        deliveries = receiver.wait(path, len(expected))
        time.sleep(0.5)  # anything extra would have arrived by now
        deliveries = receiver.at(path)
        got = [json.loads(body) for _, body in deliveries]
        assert sorted(e["externalId"] for e in got) == sorted(expected), path
        for (headers, body), event in zip(deliveries, got):
            assert verify(secret, headers, body)
            assert not verify("another-secret", headers, body)
            assert not verify(secret, headers, body + b" ")
            assert headers["X-Caliper-Webhook-Id"] == webhook.id
            assert headers["Content-Type"] == "application/json"
            assert event["clientAppId"] == "e2e-subscriber" and event["sensor"] == SENSOR
            status, stored = local.request("GET", "/caliper/events/" + event["externalId"], client="e2e-subscriber")
            assert (status, stored["event"]) == (200, event), "the stored event, as reading it back gives it"
    assert receiver.at("/other") == [] and receiver.at("/off") == []


def test_a_failing_receiver_gets_the_event_again_after_each_failure_then_no_more(local, receiver):
    receiver.script["/flaky"] = [500, 503]
    status, webhook = local.request("POST", "/webhooks/", {"name": "Flaky", "targetUrl": receiver.url + "/flaky",
                                                           "secret": "whsec-flaky-0123456789", "active": True}, client="e2e-subscriber")
    assert status == 201, webhook
    one = events()[:1]
    submit(local, one)
    deliveries = receiver.wait("/flaky", 3)
    time.sleep(2.5)  # past the longest retry delay: a fourth attempt would be here
    deliveries = receiver.at("/flaky")
    assert len(deliveries) == 3, [h.get("X-Caliper-Attempt") for h, _ in deliveries]
    assert [h["X-Caliper-Attempt"] for h, _ in deliveries] == ["1", "2", "3"]
    assert len({h["X-Caliper-Delivery-Id"] for h, _ in deliveries}) == 1, "one delivery id for every attempt"
    assert {json.loads(body)["externalId"] for _, body in deliveries} == {one[0]["id"]}


def test_private_targets_are_refused_unless_allowed(embedded, receiver):
    for target in [receiver.url + "/hook", receiver.url.replace("http:", "https:") + "/hook", "https://localhost/hook",
                   "https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://10.0.0.8/hook"]:
        status, answer = embedded.request("POST", "/webhooks/", {"name": "n", "targetUrl": target, "secret": "0123456789abcdef",
                                                                 "active": True}, client="e2e-subscriber")
        assert status == 400 and answer["errors"][0]["path"] == "/targetUrl", (target, answer)
        assert "public" in answer["errors"][0]["message"] or "https" in answer["errors"][0]["message"], answer
    status, answer = embedded.request("GET", "/webhooks/", client="e2e-subscriber")
    assert (status, answer) == (200, {"webhooks": []})
