"""The functions as deployed: each binary started under a Lambda Runtime API (2018-06-01) of our
own, with the environment the SAM template gives it, its resources made in moto by caliper-admin."""
import base64
import json
import os
import queue
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
# The binaries to run: the debug build, or another (`CALIPER_BINARIES`, e.g. an older build to compare).
DEBUG = Path(os.environ.get("CALIPER_BINARIES", ROOT / "target" / "debug"))
PREFIX = "/2018-06-01/runtime"
# Generous: CI machines may be busy. An invocation that takes this long is a failure, not a wait.
INVOKE_SECONDS = 120
LOGS = ROOT / "target" / "emulated"
EVENTS_DIR = ROOT / "events"


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


class RuntimeApi:
    """What Lambda's runtime serves a function process: the next invocation, and where its answer goes."""

    def __init__(self):
        self.pending = queue.Queue()
        self.answers = {}
        self.init_error = None
        self.first_poll = None
        self.changed = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self.reply(404, b"{}")
                with api.changed:
                    api.first_poll = api.first_poll or time.monotonic()
                    api.changed.notify_all()
                request_id, payload = api.pending.get()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + INVOKE_SECONDS * 1000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:emulated")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                with api.changed:
                    if parts == ["init", "error"]:
                        api.init_error = body
                    elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                        api.answers[parts[1]] = (parts[2], body)
                    else:
                        return self.reply(404, b"{}")
                    api.changed.notify_all()
                self.reply(202, b"{}")

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Function:
    """One function's binary, running under its own Runtime API."""

    def __init__(self, binary, env, log_dir, memory_mb=256, place=None):
        self.binary, self.api = binary, RuntimeApi()
        self.log_path = log_dir / f"{binary}-{uuid.uuid4().hex[:8]}.log"
        self.log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.invocations, self.busy_seconds, self.durations = 0, 0.0, []
        self.cpu_before_work = None
        self.process = subprocess.Popen(
            [str(DEBUG / binary)],
            env={**runtime_env(binary, memory_mb), **env, "AWS_LAMBDA_RUNTIME_API": self.api.address},
            stdout=self.log, stderr=subprocess.STDOUT)
        if place:
            place(binary, self.process.pid)

    def init_seconds(self):
        """From the process's start to its first request for work: Lambda's Init duration."""
        self.wait_for(lambda: self.api.first_poll is not None, "its first poll")
        return self.api.first_poll - self.started

    def invoke(self, payload):
        """("response", answer) or ("error", {"errorType", "errorMessage"})."""
        request_id = str(uuid.uuid4())
        if self.cpu_before_work is None:
            self.cpu_before_work = self.cpu_seconds()
        began = time.monotonic()
        self.api.pending.put((request_id, json.dumps(payload).encode()))
        self.wait_for(lambda: request_id in self.api.answers, "an answer")
        self.invocations += 1
        self.durations.append(time.monotonic() - began)
        self.busy_seconds += self.durations[-1]
        return self.api.answers.pop(request_id)

    def cpu_seconds(self):
        """The process's CPU time so far, every thread, user and system (from /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_bytes(self):
        """The most memory the process has held resident (from /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def wait_for(self, condition, what):
        deadline = time.monotonic() + INVOKE_SECONDS
        with self.api.changed:
            while not condition():
                if self.process.poll() is not None or self.api.init_error is not None:
                    raise FunctionExited(self)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.binary} gave no {what} in {INVOKE_SECONDS} s: {self.output()}")
                # Woken by every poll and answer; the timeout only notices a process that died.
                self.api.changed.wait(timeout=0.5)

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.api.close()
        self.log.close()


class FunctionExited(Exception):
    def __init__(self, function):
        function.process.wait(timeout=30)
        self.code = function.process.returncode
        self.output = function.output()
        super().__init__(f"{function.binary} exited ({self.code}): {self.output}")


def runtime_env(binary, memory_mb=256):
    """What Lambda sets in every function's environment."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    return {**keep, "AWS_LAMBDA_FUNCTION_NAME": binary, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb), "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{binary}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "emulated", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "RUST_LOG": "info"}


def template():
    return cfn_yaml.load(str(ROOT / "template.yaml"))


def template_env(binary, resources):
    """The function's environment as the template writes it (Globals, then its own), each
    reference resolved to what `resources` (logical id → value) names."""
    t = template()
    function = next(r["Properties"] for r in t["Resources"].values()
                    if r["Type"] == "AWS::Serverless::Function" and r["Metadata"]["BuildProperties"]["Binary"] == binary)
    variables = {**t["Globals"]["Function"]["Environment"]["Variables"],
                 **function.get("Environment", {}).get("Variables", {})}
    defaults = {name: str(p["Default"]) for name, p in t["Parameters"].items() if "Default" in p}

    def holds(condition):
        """A condition of the template (`!Not`, `!Equals`), on the parameters `resources` gives."""
        if "Condition" in condition:
            return holds(t["Conditions"][condition["Condition"]])
        if "Fn::Not" in condition:
            return not holds(condition["Fn::Not"][0])
        if "Fn::Equals" in condition:
            a, b = (resolve(v) for v in condition["Fn::Equals"])
            return a == b
        raise ValueError(f"{binary}: cannot judge {condition}")

    def resolve(value):
        if isinstance(value, (str, int)):
            return str(value)
        if value == {"Ref": "AWS::NoValue"}:
            return None
        if "Fn::If" in value:
            name, then, otherwise = value["Fn::If"]
            return resolve(then if holds(t["Conditions"][name]) else otherwise)
        if "Ref" in value:
            return resources.get(value["Ref"]) or defaults[value["Ref"]]
        if "Fn::GetAtt" in value:
            return resources[value["Fn::GetAtt"][0]]
        if "Fn::Sub" in value:
            text = value["Fn::Sub"].replace("${AWS::Region}", "us-east-1")
            for name, made in resources.items():
                text = text.replace("${%s}" % name, made)
            assert "${" not in text, f"{binary}: cannot resolve {value}"
            return text
        raise ValueError(f"{binary}: cannot resolve {value}")

    resolved = {name: resolve(value) for name, value in variables.items()}
    return {name: value for name, value in resolved.items() if value is not None}


def make_resources(moto_url):
    """Tables, queues, keys and the user pool of one stack in moto, by logical id (and the pool's
    keys' URL at moto), made by caliper-admin."""
    suffix = uuid.uuid4().hex[:8]
    env = {**runtime_env("caliper-admin"), "AWS_ENDPOINT_URL": moto_url,
           "CALIPER_JOBS_TABLE": f"jobs-{suffix}", "CALIPER_EVENTS_TABLE": f"events-{suffix}",
           "CALIPER_WEBHOOKS_TABLE": f"webhooks-{suffix}", "CALIPER_QUEUE_NAME": f"queue-{suffix}",
           "CALIPER_DELIVERY_QUEUE_NAME": f"deliveries-{suffix}"}
    made = subprocess.run([str(DEBUG / "caliper-admin"), "resources"], env=env, capture_output=True, text=True)
    if made.returncode != 0:
        raise RuntimeError(f"caliper-admin resources failed against {moto_url}:\n{made.stderr.strip()}")
    out = made.stdout
    made = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    # The optional queue Canvas writes to (the template makes it with the CanvasClientAppId
    # parameter), with its dead-letter queue.
    sqs = client("sqs", moto_url)
    canvas_dlq = sqs.create_queue(QueueName=f"canvas-live-events-{suffix}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=canvas_dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    canvas = sqs.create_queue(QueueName=f"canvas-live-events-{suffix}", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})})["QueueUrl"]
    return {"CanvasQueue": canvas, "CanvasClientAppId": "canvas",
            "JobsTable": made["CALIPER_JOBS_TABLE"], "EventsTable": made["CALIPER_EVENTS_TABLE"],
            "WebhooksTable": made["CALIPER_WEBHOOKS_TABLE"], "EventsQueue": made["CALIPER_QUEUE_URL"],
            "DeliveryQueue": made["CALIPER_DELIVERY_QUEUE_URL"], "EventsReplayQueue": made["CALIPER_REPLAY_QUEUE_URL"],
            "CursorKey": made["CALIPER_CURSOR_KEY_IDS"], "SecretsKey": made["CALIPER_SECRETS_KEY_ID"],
            "UserPool": made["CALIPER_USER_POOL_ID"], "jwks": made["CALIPER_JWKS_URL"],
            "ExportQueue": made["CALIPER_EXPORT_QUEUE_URL"], "ExportBucket": made["CALIPER_EXPORT_BUCKET"],
            "ErasureQueue": made["CALIPER_ERASURE_QUEUE_URL"]}


# Batch and transaction calls as IAM authorizes them: by the action on each item.
IAM_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
               "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


class Calls:
    """What each function asks of AWS, as IAM would judge it: a proxy in front of moto per
    function, recording each request as (action, resource), the resource by its logical id in the
    template (`Table/index/*` for an index, `Bucket/*` for an object)."""

    def __init__(self, moto, resources):
        self.moto, self.lock, self.made = moto, threading.Lock(), {}
        self.names = {}
        for logical, value in resources.items():
            for one in str(value).split(","):
                # Tables and buckets by name, queues by their URL's last part, keys by id or ARN.
                self.names[one] = logical
                self.names[one.rsplit("/", 1)[-1]] = logical
        self.proxies = {}

    def endpoint(self, binary):
        if binary not in self.proxies:
            self.proxies[binary] = self._proxy(binary)
        return self.proxies[binary]

    def _record(self, binary, pairs):
        with self.lock:
            self.made.setdefault(binary, set()).update(pairs)

    def _name(self, physical):
        return self.names.get(physical) or self.names.get(str(physical).rsplit("/", 1)[-1], f"unknown:{physical}")

    def judge(self, method, path, target, body):
        """The (action, resource) pairs IAM checks for one request."""
        if not target:  # S3's REST calls
            bucket = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
            action = {"PUT": "s3:PutObject", "GET": "s3:GetObject", "HEAD": "s3:GetObject",
                      "DELETE": "s3:DeleteObject"}.get(method, f"s3:{method}")
            return {(action, f"{self._name(bucket)}/*")}
        service, operation = target.split(".", 1)
        request = json.loads(body or b"{}")
        if service.startswith("DynamoDB"):
            if operation in ("TransactWriteItems", "TransactGetItems"):
                return {(f"dynamodb:{TRANSACT_ACTIONS[kind]}", self._name(item["TableName"]))
                        for entry in request["TransactItems"] for kind, item in entry.items()}
            tables = list(request.get("RequestItems", {})) or [request.get("TableName")]
            suffix = "/index/*" if request.get("IndexName") else ""
            return {(f"dynamodb:{operation}", self._name(table) + suffix) for table in tables}
        if service == "AmazonSQS":
            return {(f"sqs:{IAM_ACTIONS.get(operation, operation)}", self._name(request.get("QueueUrl", "")))}
        if service == "TrentService":
            return {(f"kms:{operation}", self._name(request.get("KeyId", "")))}
        return {(f"{service}:{operation}", "?")}

    def _proxy(self, binary):
        calls = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                calls._record(binary, calls.judge(self.command, self.path, self.headers.get("X-Amz-Target", ""), body))
                request = urllib.request.Request(calls.moto + self.path, data=body if body else None, method=self.command)
                for name, value in self.headers.items():
                    if name.lower() not in ("host", "content-length", "connection"):
                        request.add_header(name, value)
                try:
                    with urllib.request.urlopen(request) as answer:
                        status, headers, reply = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as error:
                    status, headers, reply = error.code, error.headers, error.read()
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"


class Stack:
    """One stack's resources in moto, and its functions started as they are needed (each behind
    its own recording proxy when `calls` is given)."""

    def __init__(self, endpoint, resources, extra_env, calls=None, memory_mb=256, place=None):
        self.endpoint, self.resources, self.extra_env, self.running = endpoint, resources, extra_env, {}
        # The memory size the functions are told, and what is done with each new process
        # (`place(binary, pid)`: memory.py gives it that size's CPU).
        self.calls, self.memory_mb, self.place = calls, memory_mb, place
        LOGS.mkdir(parents=True, exist_ok=True)

    def env(self, binary):
        endpoint = self.calls.endpoint(binary) if self.calls else self.endpoint
        return {**template_env(binary, self.resources), "AWS_ENDPOINT_URL": endpoint, **self.extra_env}

    def function(self, binary):
        if binary not in self.running:
            self.running[binary] = Function(binary, self.env(binary), LOGS, self.memory_mb, self.place)
        return self.running[binary]

    def http(self, binary, event):
        """The HTTP answer of an API Gateway event: (status, body as JSON)."""
        kind, answer = self.function(binary).invoke(event)
        assert kind == "response", answer
        body = answer.get("body") or "null"
        if answer.get("isBase64Encoded"):
            body = base64.b64decode(body)
        return answer["statusCode"], json.loads(body)

    def sqs_event(self, queue):
        """The SQS trigger's event: what is on `queue` now, as Lambda hands it to a function."""
        url = self.resources[queue]
        sqs = client("sqs", self.endpoint)
        records = []
        deadline = time.monotonic() + 60
        while not records and time.monotonic() < deadline:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                      AttributeNames=["All"]).get("Messages", [])
            records += [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                         "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                         "eventSource": "aws:sqs", "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                         "awsRegion": "us-east-1"} for m in got]
        assert records, f"nothing arrived on {queue}"
        return {"Records": records}

    def trigger(self, queue, binary):
        """One poll of the event source mapping: a batch from `queue` to `binary`, the messages it
        did not report failed deleted, as Lambda does. The function's answer."""
        event = self.sqs_event(queue)
        kind, verdict = self.function(binary).invoke(event)
        assert kind == "response", verdict
        failed = {f["itemIdentifier"] for f in verdict["batchItemFailures"]}
        done = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                for i, r in enumerate(event["Records"]) if r["messageId"] not in failed]
        if done:
            client("sqs", self.endpoint).delete_message_batch(QueueUrl=self.resources[queue], Entries=done)
        return verdict

    def stop(self):
        for function in self.running.values():
            function.stop()


class Receiver:
    """A webhook receiver: keeps what is POSTed."""

    def __init__(self):
        self.posts, self.arrived = [], threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.arrived:
                    receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                    receiver.arrived.notify_all()
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/caliper"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
