"""Bad data through the real CLI: one line naming the problem on stderr, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

SWEEP = """
name = "bad"
output = "{out}"
[model]
family = "{family}"
[data]
{data}
[training]
epochs = 1
"""

CSV_HEADER = "f1,f2,label\n"
GOOD_ROWS = "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20))


def _sweep(tmp_path: Path, data: str, family: str = "mlp") -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(out=tmp_path / "out", data=data, family=family))
    return path


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return f'source = "csv"\npath = "{path}"'


def _text(tmp_path: Path, text: str) -> str:
    path = tmp_path / "empty.txt"
    path.write_text(text)
    return f'source = "text"\npath = "{path}"'


@pytest.mark.parametrize(
    ("make_data", "family", "expected"),
    [
        (lambda tmp: _csv(tmp, "f1,f2,y\n" + GOOD_ROWS), "mlp", "no label column 'label' (columns: f1, f2, y)"),
        (lambda tmp: _csv(tmp, CSV_HEADER + GOOD_ROWS + "1,2\n"), "mlp", "line 22: 2 fields, but the header has 3"),
        (
            lambda tmp: _csv(tmp, CSV_HEADER + "1,two,0\n" + GOOD_ROWS),
            "mlp",
            "line 2, column 'f2': 'two' is not a number",
        ),
        (
            lambda tmp: _csv(tmp, CSV_HEADER + GOOD_ROWS) + "\ntrain_size = 100",
            "mlp",
            "data.train_size: 100 is larger than",
        ),
        (lambda tmp: _text(tmp, ""), "transformer", "empty.txt: empty text file"),
        (lambda tmp: 'source = "stdlib"\ntrain_size = 100_000_000', "transformer", "training bytes of 'python3"),
    ],
    ids=["missing-label", "ragged-row", "non-numeric", "size-too-large", "empty-text", "bytes-too-large"],
)
def test_bad_data_is_one_line_and_exit_2(cli, tmp_path, make_data, family, expected):
    result = cli("run", str(_sweep(tmp_path, make_data(tmp_path), family)), "--quiet")
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
