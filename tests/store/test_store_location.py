"""store_location: the one parser of where a store is (a folder, its .sqlite file, or
sqlite:///PATH), and the commands that read a store through it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

from scalinglab.errors import UserError
from scalinglab.store import output_folder, store_location, stored_database

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess


@pytest.mark.parametrize(
    "location, database",
    [
        ("out", "out/runs.sqlite"),
        ("out/runs.sqlite", "out/runs.sqlite"),
        ("out/other.db", "out/other.db"),
        ("sqlite:///out/runs.sqlite", "out/runs.sqlite"),
        ("sqlite:////abs/out/runs.sqlite", "/abs/out/runs.sqlite"),
    ],
)
def test_every_way_of_naming_a_store_gives_its_file_and_folder(location, database):
    found = store_location(location)
    assert found.database == Path(database)
    assert found.folder == Path(database).parent == output_folder(location)


def test_a_url_whose_slashes_a_path_merged_is_refused_with_one_line():
    # Path("sqlite:///out/runs.sqlite") is sqlite:/out/runs.sqlite: relative or absolute is lost.
    with pytest.raises(
        UserError, match=r"sqlite:/out/runs.sqlite: not a store location; a store URL is sqlite:///PATH"
    ):
        store_location(Path("sqlite:///out/runs.sqlite"))


def test_a_missing_store_is_named_and_nothing_is_created(tmp_path: Path):
    with pytest.raises(UserError, match="no scalinglab store here"):
        stored_database(f"sqlite:///{tmp_path}/nothing/runs.sqlite")
    assert not (tmp_path / "nothing").exists()


def test_report_of_a_store_url_writes_next_to_the_database(tmp_path: Path, tiny_sweep: Path):
    assert run_cli("run", str(tiny_sweep), "--quiet").returncode == 0
    out = tiny_sweep.parent / "out"
    (out / "report.html").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("report", f"sqlite:///{out}/runs.sqlite", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (out / "report.html").is_file()
    assert list(elsewhere.iterdir()) == []  # no folder named sqlite: (the bug)
