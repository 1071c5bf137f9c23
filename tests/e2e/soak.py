"""The soak behind the figures under "Timeouts and floods" (shared/README.md) (not part of the test
command): caliper-local (release, default limits) serves caliper-load from 127.0.0.1 while 1,100
hostile connections are held from 127.0.0.2 and 30 from three more addresses, each reopened as the
server closes it; the same load runs first without them, as the baseline of the same run. A probe
from 127.0.0.1 lists events twice a second throughout and records its slowest answer. Then 1,000
token requests with ~300 KB client ids fail, and 1,000 with 1.4 KB ones, each from an address of
its own, and the server's memory is read before and after. First of all, 250 bodies of 1 MB are
posted at once (to the validate route), and the server's peak memory read before and after.

    cargo build --release -p caliper-local -p caliper-load
    python3 tests/e2e/soak.py [events]

Prints events/s of both runs, their ratio, what the hostile connections got, the probe's slowest
answer, and the server's resident memory."""
import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "target" / "release" / "caliper-local"
LOAD = ROOT / "target" / "release" / "caliper-load"
CLIENT, SECRET = "soak-app", "soak-secret-0123456789"
CONNECTOR = "/connectors/canvas/" + "0" * 32


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    field = lambda name: int(re.search(rf"{name}:\s+(\d+) kB", status).group(1)) // 1024
    return field("VmRSS"), field("VmHWM")


def load(url, events):
    run = subprocess.run(
        [str(LOAD), "--url", url, "--client-id", CLIENT, "--client-secret", SECRET, "--clients", "32",
         "--envelopes", str(events // 10), "--events-per-envelope", "10"],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return {line[:24].strip(): line[24:].strip() for line in run.stdout.splitlines()}


class Hostile:
    """Unauthenticated connections that never finish, each kind a way to hold a slot or the body
    budget: idle; a header trickled a byte a tick; a body declared 5 MB, 1 KB sent, then nothing
    (half-sent); a chunked body of one-byte chunks, one a tick; a refused body trickled on while the
    server lingers. Each is reopened when the server closes it."""

    KINDS = ("idle", "header", "half", "chunks", "linger")

    def __init__(self, port, plan):
        self.port, self.plan, self.stop = port, plan, threading.Event()
        self.opened = self.closed = self.refused = 0
        self.answers = {}

    def connect(self, kind, source):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5, source_address=(source, 0))
        s.setblocking(False)
        self.opened += 1
        if kind == "header":
            s.send(b"POST /caliper/event HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        elif kind == "half":
            s.send(f"POST {CONNECTOR} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n".encode() + b" " * 1024)
        elif kind == "chunks":
            s.send(f"POST {CONNECTOR} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        elif kind == "linger":
            s.send(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        return s

    def tick(self, kind, s):
        """Reads what the server sent, sends the kind's next bytes; False once the server closed."""
        try:
            data = s.recv(65536)
            if not data:
                return False
            status = data.split(b"\r\n", 1)[0].decode(errors="replace")
            if status.startswith("HTTP/"):
                self.answers[status] = self.answers.get(status, 0) + 1
        except BlockingIOError:
            pass
        except OSError:
            return False
        try:
            if kind == "header":
                s.send(b"a")
            elif kind == "chunks":
                s.send(b"1\r\nx\r\n")
            elif kind == "linger":
                s.send(b"x")
        except (BlockingIOError, OSError):
            return False
        return True

    def run(self):
        held = []
        for source, kinds in self.plan:
            for kind in kinds:
                try:
                    held.append([kind, source, self.connect(kind, source)])
                except OSError:
                    self.refused += 1
        while not self.stop.wait(1):
            for entry in held:
                kind, source, s = entry
                if not self.tick(kind, s):
                    s.close()
                    self.closed += 1
                    try:
                        entry[2] = self.connect(kind, source)
                    except OSError:
                        self.refused += 1
        for _, _, s in held:
            s.close()


class Probe:
    """A reader from 127.0.0.1: lists one event twice a second; its slowest answer and any failure."""

    def __init__(self, url, token):
        self.url, self.token, self.stop = url, token, threading.Event()
        self.slowest, self.failures, self.count = 0.0, [], 0

    def run(self):
        while not self.stop.wait(0.5):
            request = urllib.request.Request(self.url + "/caliper/events?limit=1",
                                             headers={"Authorization": f"Bearer {self.token}"})
            start = time.monotonic()
            try:
                urllib.request.urlopen(request, timeout=30).read()
            except (urllib.error.URLError, OSError) as error:
                self.failures.append(str(error))
            self.slowest = max(self.slowest, time.monotonic() - start)
            self.count += 1


def failed_authentications(port, count, id_bytes):
    """`count` token requests whose Basic client id is `id_bytes` long, each refused, each from an
    address of its own (127.0.1.1 on), so that each counts and none is throttled."""
    statuses = {}
    for n in range(count):
        basic = base64.b64encode(f"{n:06d}".encode() + b"x" * id_bytes + b":wrong").decode()
        source = f"127.0.{1 + n // 250}.{1 + n % 250}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
        try:
            connection.request("POST", "/oauth2/token", body="grant_type=client_credentials",
                               headers={"Content-Type": "application/x-www-form-urlencoded",
                                        "Authorization": f"Basic {basic}"})
            status = connection.getresponse().status
        except OSError as error:
            status = type(error).__name__
        finally:
            connection.close()
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def bodies_at_once(port, token, count, body_bytes):
    """`count` envelopes of `body_bytes` posted at once to the validate route (read, parsed and
    checked; nothing stored), each from an address of its own (127.0.2.1 on): their statuses."""
    entities = max(1, body_bytes // 50_000)
    envelope = json.dumps({
        "sensor": "https://example.edu/sensor", "sendTime": "2024-01-01T00:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "data": [{"id": f"https://example.edu/x/{n}", "type": "Entity", "name": "x" * 50_000} for n in range(entities)],
    }).encode()
    statuses, lock = {}, threading.Lock()

    def post(n):
        source = f"127.0.{2 + n // 250}.{1 + n % 250}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0))
        try:
            connection.request("POST", "/caliper/event/validate", body=envelope,
                               headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            status = connection.getresponse().status
        except OSError as error:
            status = type(error).__name__
        finally:
            connection.close()
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=post, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main():
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        clients = Path(tmp) / "clients"
        clients.write_text(f"{CLIENT}:{SECRET}:event.create\n")
        clients.chmod(0o600)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [str(LOCAL), "--listen", f"127.0.0.1:{port}", "--data-dir", str(Path(tmp) / "data"),
             "--clients-file", str(clients)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"),
        )
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(url + "/openapi.json", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            print(f"server started: {memory(server.pid)[0]} MiB resident")
            token_request = urllib.request.Request(
                url + "/oauth2/token", data=b"grant_type=client_credentials", method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded",
                         "Authorization": "Basic " + base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()})
            token = json.loads(urllib.request.urlopen(token_request).read())["access_token"]
            rss, peak = memory(server.pid)
            statuses = bodies_at_once(port, token, 250, 1_000_000)
            print(f"250 bodies of 1 MB at once, from 250 addresses: answers {statuses}; "
                  f"peak resident {peak} -> {memory(server.pid)[1]} MiB (the budget: 256 MiB)")
            baseline = load(url, events)
            print(f"baseline: {baseline['end to end']}  ({memory(server.pid)[0]} MiB resident)")
            before = memory(server.pid)[0]
            plan = [("127.0.0.2", [Hostile.KINDS[n % 5] for n in range(1100)])]
            plan += [(f"127.0.0.{n}", [Hostile.KINDS[k % 5] for k in range(10)]) for n in (3, 4, 5)]
            hostile, probe = Hostile(port, plan), Probe(url, token)
            threads = [threading.Thread(target=hostile.run), threading.Thread(target=probe.run)]
            for thread in threads:
                thread.start()
            # The attackers' pace: the connections are opened and their first ticks sent.
            time.sleep(15)
            print(f"the 1,130 connections held: {before} -> {memory(server.pid)[0]} MiB resident before the load")
            try:
                soaked = load(url, events)
            finally:
                hostile.stop.set()
                probe.stop.set()
                for thread in threads:
                    thread.join()
            rss, peak = memory(server.pid)
            print(f"with the hostile connections: {soaked['end to end']}")
            print(f"hostile connections opened {hostile.opened}, closed by the server {hostile.closed}, "
                  f"not connected {hostile.refused}; answers they got: {hostile.answers}")
            print(f"probe from 127.0.0.1: {probe.count} listings, slowest {probe.slowest:.3f} s, "
                  f"failures {len(probe.failures)} {probe.failures[:3]}")
            print(f"server resident memory: {rss} MiB now, {peak} MiB at its peak")
            for name in ("submission", "submission latency", "end to end", "events lost", "ids allocated twice"):
                print(f"  {name}: baseline {baseline.get(name)} | soaked {soaked.get(name)}")

            before = memory(server.pid)[0]
            statuses = failed_authentications(port, 1000, 300_000)
            after = memory(server.pid)[0]
            print(f"1,000 failed authentications with 300 KB client ids: answers {statuses}; "
                  f"resident {before} -> {after} MiB")
            statuses = failed_authentications(port, 1000, 1_400)
            print(f"1,000 more with 1.4 KB client ids (read, each a throttle key): answers {statuses}; "
                  f"resident {after} -> {memory(server.pid)[0]} MiB")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
