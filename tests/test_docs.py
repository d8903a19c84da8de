"""The repository carries its own design document, and every citation of it names a section it has."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"docs/design\.md, section (\d+(?:\.\d+)?)")


def sections():
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    return set(re.findall(r"^#+ (\d+(?:\.\d+)?)\.? ", text, flags=re.MULTILINE))


def test_every_citation_of_the_design_document_names_one_of_its_sections():
    have = sections()
    assert {"2.1", "2.2", "2.3", "2.4", "4"} <= have
    cited = {}
    for path in [*ROOT.glob("gaia_stim/**/*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("benchmarks/*.py"),
                 *ROOT.glob("scripts/*.py"), *ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        for number in CITATION.findall(path.read_text(encoding="utf-8")):
            cited.setdefault(number, []).append(path.relative_to(ROOT).as_posix())
    assert cited, "nothing cites docs/design.md"
    missing = {number: paths for number, paths in cited.items() if number not in have}
    assert not missing, f"citations of sections docs/design.md does not have: {missing}"


def test_nothing_cites_a_design_file_outside_the_repository():
    for path in [*ROOT.glob("gaia_stim/**/*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("benchmarks/*.py"),
                 *ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?<![/\w])DESIGN\.md", text), path
