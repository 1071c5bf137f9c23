"""kill -9 of caliper-local while clients submit and the queue is being worked off: after a restart,
every submission that was answered 200 completes with all of its events stored, and what was
complete before the kill is unchanged (same allocated ids). The store's group commit answers a
write only once the commit holding it is on disk; this is the test of that promise."""
import threading
import urllib.parse
import uuid

from conftest import start_local


def envelope(ids):
    return {
        "sensor": "https://example.edu/sensors/kill",
        "sendTime": "2024-05-01T12:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "data": [
            {
                "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "id": id, "type": "ToolUseEvent", "profile": "ToolUseProfile", "action": "Used",
                "actor": {"id": f"https://example.edu/users/{n}", "type": "Person"},
                "object": {"id": "https://example.edu/apps/kill", "type": "SoftwareApplication"},
                "eventTime": "2024-05-01T12:00:00.000Z",
            }
            for n, id in enumerate(ids)
        ],
    }


class Submitters:
    """Clients that submit envelopes until the server stops answering, recording each 200."""

    def __init__(self, local, clients=8):
        self.local, self.accepted, self.lock = local, [], threading.Lock()
        self.enough = threading.Event()
        self.goal = 0
        self.threads = [threading.Thread(target=self.submit, daemon=True) for _ in range(clients)]

    def start(self, goal):
        self.goal = goal
        for thread in self.threads:
            thread.start()

    def submit(self):
        while True:
            ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(5)]
            try:
                status, body = self.local.request("POST", "/caliper/event", envelope(ids))
            except OSError:
                return  # the server is gone: this one was never answered
            if status != 200:
                return
            with self.lock:
                self.accepted.append((body["jobId"], ids))
                if len(self.accepted) >= self.goal:
                    self.enough.set()

    def join(self):
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a submitter hangs after the kill"


def test_kill_9_under_load_loses_nothing_answered(tmp_path):
    local = start_local("embedded", tmp_path)
    local.access_token()
    seen_complete = {}
    try:
        for goal in (60, 150):
            submitters = Submitters(local)
            submitters.start(goal)
            assert submitters.enough.wait(timeout=120), "the submissions did not get going"
            with submitters.lock:
                answered = list(submitters.accepted)
            # Jobs complete before the kill, as a reader saw them.
            for job_id, _ in answered[: len(answered) // 2]:
                status, body = local.request("GET", f"/jobs/{job_id}/status")
                if status == 200 and body["job"]["state"] == "completed":
                    seen_complete[job_id] = body["job"]["returnValue"]["results"]
            local.process.kill()  # SIGKILL: no shutdown, mid-commit as likely as not
            local.process.wait(timeout=10)
            submitters.join()
            local.start()

            for job_id, ids in submitters.accepted:
                job = local.wait_for_job(job_id, seconds=120)
                assert job["state"] == "completed", job
                results = job["returnValue"]["results"]
                assert [r["externalId"] for r in results] == ids, job
                if job_id in seen_complete:
                    assert results == seen_complete[job_id], "a completed job changed after the kill"
            # The events themselves are there, as readers fetch them.
            for _, ids in submitters.accepted[-5:]:
                for id in ids:
                    status, body = local.request("GET", "/caliper/events/" + urllib.parse.quote(id, safe=""))
                    assert status == 200, body
        assert seen_complete, "no job had completed before a kill: the test saw nothing of processing"
    finally:
        local.stop()
