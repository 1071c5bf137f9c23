"""The README's walk-through, run as a newcomer would: its `sh` block under "Try it with curl",
pasted into `bash -e` from the repository root, runs to the end, and prints exactly what each of
its `#>` lines says."""
import os
import re
import subprocess

from conftest import ROOT, free_port


def walk_through():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it with curl", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README has no walk-through block"
    return block.group(1)


def test_the_walk_through_runs_to_the_end_and_prints_what_it_says():
    script = walk_through()
    expected = [line[3:] for line in script.splitlines() if line.startswith("#> ")]
    assert len(expected) >= 10, expected
    env = {**os.environ, "PORT": str(free_port())}
    run = subprocess.run(["bash", "-e"], input=script, text=True, capture_output=True, cwd=ROOT,
                         env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == expected, run.stdout
