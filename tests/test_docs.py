"""The written material: every internal link lands somewhere, and codespell finds no misspelling.

External links (http…) are not followed: the test machine is offline.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)|!\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```.*?```", re.S)
CODE = re.compile(r"`[^`\n]*`")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def markdown_texts() -> dict[Path, str]:
    """Every Markdown document a reader follows links in, and every lab's markdown cells (one text per file)."""
    texts = {path: path.read_text(encoding="utf-8") for pattern in ("*.md", "labs/**/*.md", "data/**/*.md",
                                                                    "benchmarks/**/*.md")
             for path in REPO.glob(pattern)}
    for path in sorted(REPO.glob("labs/**/*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[path] = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return {p: t for p, t in texts.items() if ".ipynb_checkpoints" not in p.parts}


def anchors(text: str) -> set[str]:
    headings = [line.lstrip("#") for line in FENCE.sub("", text).splitlines() if re.match(r"#{1,6} ", line)]
    found, seen = set(), {}
    for heading in headings:  # GitHub numbers repeated headings: x, x-1, x-2
        slug = github_slug(heading)
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found | set(re.findall(r'<a (?:id|name)="([^"]+)"', text))


def broken_links(path: Path, text: str) -> list[str]:
    problems = []
    for match in LINK.finditer(CODE.sub("", FENCE.sub("", text))):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):        # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            problems.append(f"{target} (no heading with that anchor)")
    return problems


def test_github_slug_follows_githubs_rule():
    assert github_slug(" 6.10 BM25 for an agglutinative language: Hungarian") == \
        "610-bm25-for-an-agglutinative-language-hungarian"
    assert github_slug("2.1 Zero-, one- and few-shot in-context learning") == \
        "21-zero--one--and-few-shot-in-context-learning"


def test_the_link_check_finds_a_broken_file_and_a_broken_anchor(tmp_path):
    (tmp_path / "notes.md").write_text("# Notes\n\n## 1.2 Two words\n", encoding="utf-8")
    page = tmp_path / "page.md"
    text = ("[ok](notes.md#12-two-words) [bad anchor](notes.md#13-three) [missing](nowhere.md) "
            "[web](https://example.org/x) `[code](not-a-link.md)` [self](#page) [self, bad](#nope)\n# Page\n")
    page.write_text(text, encoding="utf-8")
    assert broken_links(page, text) == ["notes.md#13-three (no heading with that anchor)",
                                        "nowhere.md (no such file)", "#nope (no heading with that anchor)"]


def test_every_internal_link_in_the_docs_and_labs_lands_somewhere():
    texts = markdown_texts()
    assert REPO / "README.md" in texts and any(p.suffix == ".ipynb" for p in texts)
    problems = {str(p.relative_to(REPO)): bad for p, t in texts.items() if (bad := broken_links(p, t))}
    assert not problems, f"broken internal links: {problems}"


@pytest.mark.skipif(shutil.which("codespell") is None and not (Path(sys.executable).parent / "codespell").exists(),
                    reason="codespell is not installed (make setup installs it from requirements.txt)")
def test_codespell_finds_no_misspelling(tmp_path):
    """Code, docs and the labs' cells (not their outputs, which hold token pieces such as 'te')."""
    for path in sorted(REPO.glob("labs/**/*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        (tmp_path / f"{path.stem}.txt").write_text("\n\n".join("".join(c["source"]) for c in cells),
                                                   encoding="utf-8")
    targets = [str(tmp_path), "README.md", "Makefile", "lacibot_lib", "scripts", "tests", "benchmarks",
               "data/course_notes/course_notes.md", *map(str, REPO.glob("labs/**/*.md")),
               *map(str, REPO.glob("data/dialogues/*.md"))]
    exe = shutil.which("codespell") or str(Path(sys.executable).parent / "codespell")
    done = subprocess.run([exe, "--toml", str(REPO / "pyproject.toml"), *targets], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"codespell:\n{done.stdout}{done.stderr}"
