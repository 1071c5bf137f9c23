"""The documents link to one another: every relative link in the repository's Markdown names a file
that exists, and its `#anchor` a heading of that file (as GitHub makes anchors), so that the front
page's "where to read on" and every cross-reference can be followed."""
import re
import subprocess

from conftest import ROOT

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documents():
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"], cwd=ROOT, check=True, capture_output=True, text=True)
    return [ROOT / name for name in listed.stdout.split() if "/docs/" not in name]


def anchors(path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    slugs = set()
    for heading in re.findall(r"^#+ (.*)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


def test_every_relative_link_reaches_its_file_and_heading():
    broken = []
    docs = documents()
    assert ROOT / "README.md" in docs and len(docs) >= 10, docs
    for doc in docs:
        text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_front_page_is_short_and_links_every_reference():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200, "the front page stays a front page"
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in LINK.findall(readme)}
    for doc in documents():
        if doc.name == "README.md" and doc != ROOT / "README.md":
            assert doc.resolve() in linked, f"the front page does not link {doc.relative_to(ROOT)}"
