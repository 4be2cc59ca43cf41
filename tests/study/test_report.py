"""``comodo report``: bad or missing number files are one clear error."""

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


def test_the_readme_shows_egodistill_tables_as_comodo_report_prints_them():
    """The README's EgoDistill results are `comodo report`'s output on the committed figures/*.json."""
    from comodo.study.cli import ROOT
    from comodo.study.egodistill.report import sections

    readme = (ROOT / "README.md").read_text()
    for title, body in sections(ROOT / "figures"):
        assert f"##### {title}\n\n{body}\n" in readme, f"README: the table '{title}' differs from comodo report's"
