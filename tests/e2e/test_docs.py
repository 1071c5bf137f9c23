"""The /docs page renders the OpenAPI description for people, in headless Chromium, with nothing
fetched from outside (the renderer is bundled); and the bundled renderer is npm's, byte for byte."""
import hashlib
import json
import shutil
import subprocess
import tarfile

from conftest import ROOT

DOCS = ROOT / "shared" / "http" / "docs"


def rendered(url, profile):
    """The page's DOM after its scripts ran, in a Chromium that can reach no host but this one."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed: tests/run.sh installs it"
    run = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_the_docs_page_shows_every_operation(embedded, tmp_path):
    status, description = embedded.request("GET", "/openapi.json", token="")
    assert status == 200
    dom = rendered(embedded.url + "/docs", tmp_path / "chromium")
    assert "Caliper Events API" in dom
    for path, methods in description["paths"].items():
        for method, operation in methods.items():
            assert operation["summary"] in dom, f"{method.upper()} {path}: {operation['summary']!r} is not shown"
            assert path in dom, f"{path} is not shown"


def test_the_bundled_renderer_is_the_registrys(tmp_path):
    version = json.loads((DOCS / "package.json").read_text())["dependencies"]["redoc"]
    subprocess.run(["npm", "pack", f"redoc@{version}", "--silent", "--pack-destination", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    with tarfile.open(tmp_path / f"redoc-{version}.tgz") as package:
        published = package.extractfile("package/bundles/redoc.standalone.js").read()
    bundled = (DOCS / "redoc.standalone.js").read_bytes()
    assert hashlib.sha256(bundled).hexdigest() == hashlib.sha256(published).hexdigest()
