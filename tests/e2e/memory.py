"""What a function's memory size costs, measured: the cost workload (cost.py) runs once per size
under the Lambda Runtime API emulator against moto, each function process held to the CPU Lambda
gives that size (one vCPU at 1,769 MB, in proportion below it) by a cgroup CPU quota.

    CALIPER_BINARIES=target/release target/test-venv/bin/python tests/e2e/memory.py [--events 2000] [--sizes 128,256,512]

Per function and size: CPU time and billed duration per invocation (the wall time under the quota,
rounded up to the millisecond as Lambda bills it), peak resident memory, and what its compute costs
per million invocations; then the ingest path's compute per million events. Needs a writable cgroup
(cgroup v1's `cpu` controller or cgroup v2's `cpu.max`: root on Linux), the binaries (`cargo build
--release --bins`) and moto as cost.py finds or starts it.
"""
import argparse
import json
import math
import os
import statistics
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cost import FUNCTIONS, PRICES, ensure_moto, workload  # noqa: E402
from lambda_emulator import DEBUG, Receiver, Stack, make_resources, template  # noqa: E402

# Lambda allocates CPU in proportion to memory: 1,769 MB is one vCPU.
MB_PER_VCPU = 1769
# The functions the workload's events pass through (the rest it calls once or per page).
INGEST = ("submit-events", "process-events", "deliver-webhooks")


class CpuQuotas:
    """One cgroup per function process, each allowed `share` of one CPU (removed on close)."""

    PERIOD_US = 100_000

    def __init__(self, share):
        self.share, self.made = share, []
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        self.root = Path("/sys/fs/cgroup") if v2.exists() else Path("/sys/fs/cgroup/cpu")
        self.v2 = v2.exists()
        if not os.access(self.root, os.W_OK):
            sys.exit(f"memory.py gives each function its memory size's CPU through a cgroup, and {self.root} "
                     "is not writable here: run it as root on Linux")

    def place(self, binary, pid):
        group = self.root / f"caliper-{binary}-{uuid.uuid4().hex[:8]}"
        group.mkdir()
        self.made.append(group)
        quota = max(1000, int(self.PERIOD_US * self.share))
        if self.v2:
            if not (group / "cpu.max").exists():
                # The cpu controller is not enabled for the root's children: enable it.
                (self.root / "cgroup.subtree_control").write_text("+cpu")
            (group / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        # Every thread of the process moves with it.
        (group / "cgroup.procs").write_text(str(pid))

    def close(self):
        for group in self.made:
            try:
                group.rmdir()
            except OSError:
                pass


def template_sizes():
    """Each function's memory size in the template, by binary."""
    resources = template()
    default = resources["Globals"]["Function"].get("MemorySize", 128)
    sizes = {}
    for resource in resources["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            sizes[binary] = resource["Properties"].get("MemorySize", default)
    return sizes


def measure(moto, size, events, per_envelope):
    """The workload at `size` MB: each function's figures."""
    quotas = CpuQuotas(min(1.0, size / MB_PER_VCPU))
    resources = make_resources(moto)
    receiver = Receiver()
    stack = Stack(moto, resources, {"CALIPER_WEBHOOK_ALLOW_PRIVATE": "true", "CALIPER_JWKS_URL": resources["jwks"]},
                  memory_mb=size, place=quotas.place)
    try:
        report = workload(stack, resources, receiver, moto, events, per_envelope, 100, phase=lambda name: None)
        figures = {}
        for binary, function in stack.running.items():
            billed = [math.ceil(d * 1000) for d in function.durations]
            figures[binary] = {
                "invocations": function.invocations,
                "cpu_ms": (function.cpu_seconds() - function.cpu_before_work) * 1000 / function.invocations,
                "billed_ms": statistics.fmean(billed),
                "p99_ms": sorted(billed)[math.ceil(0.99 * len(billed)) - 1],
                "peak_mib": function.peak_rss_bytes() / 2**20,
                "per_million": statistics.fmean(billed) / 1000 * size / 1024 * PRICES["lambda_gb_second"] * 1e6,
                "seconds": sum(billed) / 1000,
            }
        return report, figures
    finally:
        stack.stop()
        receiver.close()
        quotas.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--per-envelope", type=int, default=10)
    parser.add_argument("--sizes", default="128,256,512", help="memory sizes in MB, comma-separated")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    missing = [name for name in ("caliper-admin", *FUNCTIONS) if not (DEBUG / name).exists()]
    if missing:
        sys.exit(f"memory.py needs the binaries in {DEBUG} ({', '.join(missing)} missing): "
                 "`cargo build --release --bins` and CALIPER_BINARIES=target/release")
    moto = os.environ.get("CALIPER_TEST_MOTO_URL", "http://127.0.0.1:5000")
    ensure_moto(moto)
    deployed = template_sizes()

    runs = {size: measure(moto, size, args.events, args.per_envelope) for size in sizes}
    print(f"# Memory sizes, measured: {args.events} events in envelopes of {args.per_envelope}, binaries {DEBUG}")
    print(f"# each function held to its size's CPU (size / {MB_PER_VCPU} of a vCPU) by a cgroup quota\n")
    print(f"{'function':18} {'MB':>5} {'calls':>6} {'CPU ms':>8} {'billed ms':>10} {'p99 ms':>8} "
          f"{'peak MiB':>9} {'$/M calls':>10}  (template: MB)")
    for binary in sorted({b for _, figures in runs.values() for b in figures}):
        for size, (_, figures) in runs.items():
            f = figures.get(binary)
            if f:
                print(f"{binary:18} {size:5} {f['invocations']:6} {f['cpu_ms']:8.2f} {f['billed_ms']:10.2f} "
                      f"{f['p99_ms']:8} {f['peak_mib']:9.1f} {f['per_million']:10.3f}  ({deployed.get(binary, '?')})")
    print("\nIngest compute per million events (submit, process, deliver), US$:")
    for size, (report, figures) in runs.items():
        submitted = report["events"] + max(1, report["events"] // 10)
        cost = sum(figures[b]["seconds"] * size / 1024 * PRICES["lambda_gb_second"] for b in INGEST if b in figures)
        print(f"  {size:5} MB: {cost * 1e6 / submitted:.3f}")
    if args.json:
        args.json.write_text(json.dumps({size: figures for size, (_, figures) in runs.items()}, indent=2))


if __name__ == "__main__":
    main()
