"""A small run of the load tool against caliper-local: concurrent clients, then every job followed to
its end; the tool exits non-zero if an event was lost or stored twice."""
import subprocess

from conftest import CLIENTS, ROOT

LOAD = ROOT / "target" / "debug" / "caliper-load"


def test_a_small_load_run_loses_and_duplicates_nothing(embedded):
    run = subprocess.run(
        [str(LOAD), "--url", embedded.url, "--client-id", "e2e-app", "--client-secret", CLIENTS["e2e-app"][0], "--clients", "8", "--envelopes", "120", "--events-per-envelope", "5",
         "--drain-timeout-secs", "120"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = {line[:24].strip(): line[24:].strip() for line in run.stdout.splitlines()}
    assert report["events accepted"] == "600", run.stdout
    assert report["events lost"] == "0" and report["ids allocated twice"] == "0", run.stdout


def test_the_benchmark_serves_itself_and_reports_every_figure():
    """The benchmark as shared/load/README.md runs it, small: it starts caliper-local itself, and reports the
    ceiling, the server's CPU, memory and disk (figures not asserted: a test is no benchmark)."""
    binary = ROOT / "target" / "debug" / "caliper-local"
    run = subprocess.run(
        [str(LOAD), "--serve", str(binary), "--clients", "4", "--envelopes", "40", "--events-per-envelope", "10",
         "--idle-secs", "1", "--drain-timeout-secs", "120"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = {line[:24].strip(): line[24:].strip() for line in run.stdout.splitlines()}
    assert report["events accepted"] == "400" and report["events lost"] == "0", run.stdout
    for figure in ("ceiling", "end to end / ceiling", "server CPU", "server peak memory", "server idle CPU", "on disk",
                   "backlog after last 200", "submission latency"):
        assert figure in report, f"{figure} missing from:\n{run.stdout}"
