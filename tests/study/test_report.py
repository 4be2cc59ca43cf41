"""``comodo report``: bad or missing number files are one clear error."""

import shutil
import subprocess
from pathlib import Path

import pytest

from comodo.cli import main
from comodo.errors import ComodoError
from comodo.study.report import load


def test_missing_numbers_name_the_file_and_the_command(tmp_path):
    with pytest.raises(ComodoError, match=r"04_methods.json: no such file; run `make study`"):
        load(tmp_path, "04_methods")


def test_corrupt_numbers_are_one_line(tmp_path, capsys):
    (tmp_path / "04_methods.json").write_text('{"summary": [')
    assert main(["report", "--figures", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "04_methods.json: not valid JSON" in err and len(err.splitlines()) == 1


def committed_figures(folder: Path, root: Path | None = None) -> Path:
    """The checkout's ``figures/*.json`` as committed (git's index) in ``folder``: a `make study` on another
    CPU rewrites the working copies with other last bits (README, *What changes across CPUs*), and
    `make test` after it must still pass. The working copies where git has no version of a file (outside
    a git checkout, untracked files, or git refusing the repository)."""
    from comodo.study.cli import ROOT

    root = root or ROOT
    for path in (root / "figures").glob("*.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return folder
    listed = subprocess.run([git, "ls-files", "-z", "--", ":(glob)figures/*.json"], cwd=root, capture_output=True)
    names = listed.stdout.decode().split("\0") if listed.returncode == 0 else []
    for name in filter(None, names):
        shown = subprocess.run([git, "show", f":{name}"], cwd=root, capture_output=True)
        if shown.returncode == 0:
            (folder / Path(name).name).write_bytes(shown.stdout)
    return folder


def test_the_readme_shows_egodistill_tables_as_comodo_report_prints_them(tmp_path):
    """The README's EgoDistill results are `comodo report`'s output on the committed figures/*.json."""
    from comodo.study.cli import ROOT
    from comodo.study.egodistill.report import sections

    readme = (ROOT / "README.md").read_text()
    for title, body in sections(committed_figures(tmp_path)):
        assert f"##### {title}\n\n{body}\n" in readme, f"README: the table '{title}' differs from comodo report's"


def test_the_committed_figures_are_read_whatever_a_study_wrote_over_them(tmp_path):
    """After a `make study` on another CPU (a working copy rewritten), the committed numbers are read;
    an untracked file, and every file outside a git checkout, as it is."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("no git")
    root = tmp_path / "checkout"
    (root / "figures").mkdir(parents=True)
    path, untracked = root / "figures" / "10_egodistill_cost.json", root / "figures" / "11_egodistill_ablations.json"
    path.write_text('{"committed": 1}')
    untracked.write_text('{"untracked": 1}')
    (tmp_path / "plain").mkdir()
    plain = committed_figures(tmp_path / "plain", root)  # not a checkout yet
    assert sorted(p.name for p in plain.iterdir()) == sorted([path.name, untracked.name])
    subprocess.run([git, "init", "-q"], cwd=root, check=True)
    subprocess.run([git, "add", str(path.relative_to(root))], cwd=root, check=True)
    path.write_text('{"other": "bits"}')
    (tmp_path / "out").mkdir()
    out = committed_figures(tmp_path / "out", root)
    assert (out / path.name).read_text() == '{"committed": 1}'
    assert (out / untracked.name).read_text() == '{"untracked": 1}'
