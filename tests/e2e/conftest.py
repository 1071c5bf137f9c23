"""Starts caliper-local as a user would, on a free port, and talks to it over HTTP."""
import base64
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "debug" / "caliper-local"
SCOPE = "https://purl.imsglobal.org/spec/caliper/v1p1/scope/"

# The local IdP's app clients in these tests: id → (secret, scopes).
CLIENTS = {
    "e2e-app": ("app-secret-0f3a9c2b", "event.create"),
    "e2e-other": ("other-secret-0f3a9c2b", "event.create"),
    "e2e-admin": ("admin-secret-0f3a9c2b", "admin"),
    "e2e-webhooks": ("webhooks-secret-0f3a9c2b", "webhook.readonly,webhook.create"),
    "e2e-reader": ("reader-secret-0f3a9c2b", "webhook.readonly"),
    # An app that sends events and subscribes to them.
    "e2e-subscriber": ("subscriber-secret-0f3a9c2b", "event.create,webhook.create,webhook.readonly"),
}
CLIENT_FLAGS = [flag for id, (secret, scopes) in CLIENTS.items() for flag in ("--client", f"{id}:{secret}:{scopes}")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Local:
    """One running caliper-local; `restart()` keeps its data directory, flags and address (and so
    its issuer: tokens fetched before a restart stay good)."""

    def __init__(self, args, env):
        self.args, self.env, self.process, self.tokens, self.port = args, env, None, {}, None

    def start(self):
        self.port = port = self.port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.args_log(), "ab")
        self.process = subprocess.Popen(
            [str(BINARY), "--listen", f"127.0.0.1:{port}", *self.args], env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"caliper-local exited: see {self.args_log()}")
            try:
                # Ready once it answers HTTP (any status), not merely once its port is bound.
                urllib.request.urlopen(self.url + "/", timeout=1).close()
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("caliper-local did not start listening")

    def args_log(self):
        return ROOT / "target" / "caliper-local-e2e.log"

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self):
        self.stop()
        return self.start()

    def token(self, client="e2e-app", secret=None, **form):
        """The token endpoint's answer (status, JSON) for this client and form."""
        secret = secret if secret is not None else CLIENTS[client][0]
        basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
        request = urllib.request.Request(
            self.url + "/oauth2/token",
            data=urllib.parse.urlencode({"grant_type": "client_credentials", **form}).encode(),
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        return self.call(request)

    def access_token(self, client="e2e-app"):
        """A bearer token of this client with all its scopes, fetched once per run."""
        if client not in self.tokens:
            status, answer = self.token(client)
            assert status == 200, answer
            self.tokens[client] = answer["access_token"]
        return self.tokens[client]

    def request(self, method, path, body=None, content_type="application/json", client="e2e-app", token=None):
        """Calls the API as `client` (its token fetched once), or with `token` ("" for none)."""
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        token = self.access_token(client) if token is None else token
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        return self.call(request)

    @staticmethod
    def call(request):
        """(status, body): JSON bodies decoded, others (the docs page) as bytes."""
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, Local.decode(response)
        except urllib.error.HTTPError as error:
            return error.code, Local.decode(error)

    @staticmethod
    def decode(response):
        body = response.read()
        if "json" not in response.headers.get("Content-Type", "application/json"):
            return body
        return json.loads(body or b"null")

    def wait_for_job(self, job_id, seconds=60, client="e2e-app"):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status, body = self.request("GET", f"/jobs/{job_id}/status", client=client)
            assert status == 200, body
            if body["job"]["state"] in ("completed", "failed"):
                return body["job"]
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish in {seconds} s")


def start_local(backend, tmp_path, *flags):
    """caliper-local on the embedded store, or on DynamoDB and SQS (moto) with resources of its own."""
    if backend == "embedded":
        return Local(["--data-dir", str(tmp_path / "data"), *CLIENT_FLAGS, *flags], dict(os.environ)).start()
    moto = os.environ.get("CALIPER_TEST_MOTO_URL")
    assert moto, "CALIPER_TEST_MOTO_URL is not set: run tests/run.sh, which starts moto_server"
    suffix = uuid.uuid4().hex[:12]
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=moto,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_REGION="us-east-1",
        CALIPER_JOBS_TABLE=f"e2e-jobs-{suffix}",
        CALIPER_EVENTS_TABLE=f"e2e-events-{suffix}",
        CALIPER_QUEUE_NAME=f"e2e-queue-{suffix}",
        CALIPER_WEBHOOKS_TABLE=f"e2e-webhooks-{suffix}",
        CALIPER_DELIVERY_QUEUE_NAME=f"e2e-deliveries-{suffix}",
    )
    args = ["--backend", "aws", "--create-resources", "--data-dir", str(tmp_path / "idp"), *CLIENT_FLAGS, *flags]
    return Local(args, env).start()


@pytest.fixture
def embedded(tmp_path):
    local = start_local("embedded", tmp_path)
    yield local
    local.stop()


@pytest.fixture
def aws(tmp_path):
    local = start_local("aws", tmp_path)
    yield local
    local.stop()
