"""The soak behind the performance figures (shared/load/README.md) (not part of the test command): caliper-local (release)
serves caliper-load while 300 idle and 200 slow connections are held open, and reopened as the
server closes them; the same load runs first without them, as the baseline of the same run.

    cargo build --release -p caliper-local -p caliper-load
    python3 tests/e2e/soak.py [events]

Prints events/s of both runs, their ratio, what the hostile connections got, and the server's
resident memory (peak, and at the end)."""
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "target" / "release" / "caliper-local"
LOAD = ROOT / "target" / "release" / "caliper-load"
CLIENT, SECRET = "soak-app", "soak-secret-0123456789"


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
    report = {line[:24].strip(): line[24:].strip() for line in run.stdout.splitlines()}
    return report


class Hostile:
    """300 idle connections and 200 slow ones (100 trickling a header, 100 a 5 MB body), each
    reopened when the server closes it."""

    def __init__(self, port, token):
        self.port, self.token, self.stop = port, token, threading.Event()
        self.opened = self.closed = 0
        self.answers = {}

    def connect(self, kind):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.setblocking(False)
        self.opened += 1
        if kind == "body":
            s.send((f"POST /caliper/event HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {self.token}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n").encode())
        return s

    def run(self):
        kinds = ["idle"] * 300 + ["header"] * 100 + ["body"] * 100
        held = [(kind, self.connect(kind)) for kind in kinds]
        header = b"POST /caliper/event HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
        while not self.stop.wait(2):
            for n, (kind, s) in enumerate(held):
                try:
                    data = s.recv(4096)
                    alive = bool(data)
                    if data:
                        status = data.split(b"\r\n", 1)[0].decode(errors="replace")
                        self.answers[status] = self.answers.get(status, 0) + 1
                except BlockingIOError:
                    alive = True
                except OSError:
                    alive = False
                if alive:
                    try:
                        if kind == "header":
                            s.send(header[:1])
                        elif kind == "body":
                            s.send(b" " * 1024)
                    except (BlockingIOError, OSError):
                        alive = False
                if not alive:
                    s.close()
                    self.closed += 1
                    try:
                        held[n] = (kind, self.connect(kind))
                    except OSError:
                        held[n] = (kind, s)
        for _, s in held:
            s.close()


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
             "--clients-file", str(clients),
             # The load tool and the hostile connections all come from 127.0.0.1: as behind a proxy.
             "--max-connections-per-address", "1024"],
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
            baseline = load(url, events)
            print(f"baseline: {baseline['end to end']}  ({memory(server.pid)[0]} MiB resident)")

            token_request = urllib.request.Request(
                url + "/oauth2/token", data=b"grant_type=client_credentials", method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded",
                         "Authorization": "Basic " + base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()})
            token = json.loads(urllib.request.urlopen(token_request).read())["access_token"]
            before = memory(server.pid)[0]
            hostile = Hostile(port, token)
            thread = threading.Thread(target=hostile.run)
            thread.start()
            time.sleep(15)
            print(f"the 500 connections held: {before} -> {memory(server.pid)[0]} MiB resident before the load")
            try:
                soaked = load(url, events)
            finally:
                hostile.stop.set()
                thread.join()
            rss, peak = memory(server.pid)
            print(f"with 300 idle + 200 slow connections: {soaked['end to end']}")
            print(f"hostile connections opened {hostile.opened}, closed by the server {hostile.closed}; "
                  f"answers they got: {hostile.answers}")
            print(f"server resident memory: {rss} MiB now, {peak} MiB at its peak")
            for name in ("submission", "submission latency", "end to end", "events lost", "ids allocated twice"):
                print(f"  {name}: baseline {baseline.get(name)} | soaked {soaked.get(name)}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
