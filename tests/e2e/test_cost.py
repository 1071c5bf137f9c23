"""The cost meter (cost.py) on a small workload: it runs, counts, and the storage design it
measures holds: an event is one write unit and two index entries (shared/aws/README.md, "Cost")."""
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_the_cost_meter_counts_a_small_workload(tmp_path):
    figures = tmp_path / "cost.json"
    run = subprocess.run([sys.executable, str(HERE / "cost.py"), "--events", "100", "--page", "30",
                          "--json", str(figures)], capture_output=True, text=True, env=os.environ, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    counted = json.loads(figures.read_text())
    assert counted["listed"] == 100, "every event read back by listing"
    assert counted["delivered"] == 10, "every fan-out event delivered"
    # The TimebackProfile events of the workload (about 980 bytes each): one write unit for the
    # item, one per index (client, actor); every event is the clients' entries merged, an email's
    # events its actors'.
    assert counted["event_item_units"] == 1
    assert counted["index_units_per_event"] == 2
    assert 0 < counted["ingest_per_million"] < 10 and counted["storage_gb_per_million"] > 0
