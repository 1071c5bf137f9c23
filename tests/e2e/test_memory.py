"""The memory meter (memory.py) on a small workload: each function runs held to its size's share of
a vCPU, so a function bound by its CPU takes that many times its CPU time."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CGROUP = Path("/sys/fs/cgroup/cgroup.controllers")
CGROUP_ROOT = Path("/sys/fs/cgroup") if CGROUP.exists() else Path("/sys/fs/cgroup/cpu")


@pytest.mark.skipif(not os.access(CGROUP_ROOT, os.W_OK), reason="needs a writable cgroup (root on Linux)")
def test_a_function_runs_with_its_memory_sizes_share_of_a_vcpu(tmp_path):
    figures = tmp_path / "memory.json"
    run = subprocess.run([sys.executable, str(HERE / "memory.py"), "--events", "100", "--sizes", "128",
                          "--json", str(figures)], capture_output=True, text=True, env=os.environ, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    measured = json.loads(figures.read_text())["128"]
    assert {"submit-events", "process-events", "deliver-webhooks", "query-events"} <= set(measured)
    process = measured["process-events"]
    # 128 MB is 1/13.8 of a vCPU: the processor's CPU-bound batches take several times their CPU.
    assert process["cpu_ms"] > 0 and process["billed_ms"] > 5 * process["cpu_ms"], process
    assert all(f["peak_mib"] > 0 and f["invocations"] > 0 for f in measured.values())
