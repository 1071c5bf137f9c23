"""Each function's cold start under the Lambda Runtime API emulator: from the process's start to
its first request for work (Lambda's Init duration), against moto, median of five starts; then the
largest message process-events can get (an envelope of the most events, 1,000, of about a
kilobyte), its CPU time and what that is at Lambda's CPU share of the template's memory.

    target/test-venv/bin/python tests/e2e/startup.py      # CALIPER_BINARIES=target/release for those
"""
import json
import os
import statistics
import time
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cost import envelope  # noqa: E402
from lambda_emulator import DEBUG, EVENTS_DIR, LOGS, ROOT, Function, Stack, make_resources, template_env  # noqa: E402

# Lambda gives a function one vCPU at 1,769 MB, and a share in proportion below.
FULL_CPU_MB = 1769


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    moto = os.environ.get("CALIPER_TEST_MOTO_URL", "http://127.0.0.1:5000")
    resources = make_resources(moto)
    LOGS.mkdir(parents=True, exist_ok=True)
    print(f"binaries: {DEBUG}")
    for crate in sorted(p.name for p in (ROOT / "functions").iterdir()):
        env = {**template_env(crate, resources), "AWS_ENDPOINT_URL": moto, "CALIPER_JWKS_URL": resources["jwks"]}
        starts = []
        for _ in range(5):
            function = Function(crate, env, LOGS)
            try:
                starts.append(function.init_seconds())
            finally:
                function.stop()
        print(f"{crate:18} {statistics.median(starts) * 1000:6.1f} ms")

    stack = Stack(moto, resources, {"CALIPER_JWKS_URL": resources["jwks"]})
    try:
        submit = json.loads((EVENTS_DIR / "submit-events.json").read_text())
        body = json.dumps(envelope(0, 0, 1000), separators=(",", ":"))
        status, reply = stack.http("submit-events", dict(submit, body=body))
        assert status == 200, reply
        processor = stack.function("process-events")
        processor.init_seconds()
        event = stack.sqs_event("EventsQueue")
        message = len(event["Records"][0]["body"])
        before, began = cpu_seconds(processor.process.pid), time.monotonic()
        kind, verdict = processor.invoke(event)
        cpu, wall = cpu_seconds(processor.process.pid) - before, time.monotonic() - began
        assert kind == "response" and verdict == {"batchItemFailures": []}, verdict
        memory = 256
        print(f"\nthe largest message: 1000 events, {len(body)} bytes of envelope, {message} of message;"
              f" process-events {cpu:.2f} s of CPU ({wall:.2f} s against moto here);"
              f" at {memory} MB ({memory / FULL_CPU_MB:.2f} of a vCPU) about {cpu * FULL_CPU_MB / memory:.1f} s")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
