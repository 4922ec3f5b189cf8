"""The README's "Use your own model" section runs as written.

A block whose first line is `# NAME.py` or `# NAME.toml` is a file the reader saves: it is written
to the working folder. Every other Python block runs, in order, in one namespace (the reader's
session); every other TOML block must parse.
"""

from __future__ import annotations

import re
import sys
import tomllib

import pytest

import scalinglab
from cli_helpers import REPO

SECTION = "## Use your own model"


def _blocks() -> list[tuple[str, str]]:
    text = (REPO / "README.md").read_text()
    section = text[text.index(SECTION):]
    section = section[: section.find("\n## ", len(SECTION))]
    return re.findall(r"```(\w+)\n(.*?)```", section, flags=re.DOTALL)


def test_the_section_has_runnable_python():
    languages = [language for language, _ in _blocks()]
    assert languages.count("python") >= 4 and "toml" in languages


@pytest.mark.slow
def test_the_use_your_own_model_snippets_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    session = {"__name__": "readme_session"}
    for language, code in _blocks():
        saved_as = re.match(r"# (\w+\.(?:py|toml))\n", code)
        if saved_as:
            (tmp_path / saved_as[1]).write_text(code)
        elif language == "python":
            exec(compile(code, f"README.md ({SECTION})", "exec"), session)
        else:
            tomllib.loads(code)
    sys.modules.pop("mymodels", None)

    objective_runs = session["runs"]  # the section's last frame: the objective's sweep, read back
    assert set(objective_runs["status"]) == {"ok"} and len(objective_runs) == 20
    assert session["law"].params_["alpha"] > 0
    assert (tmp_path / "residual-out" / "runs.sqlite").is_file()
    residual = scalinglab.results(tmp_path / "residual-out")
    assert len(residual) == 8 and set(residual["status"]) == {"ok"}
    assert "val_loss" in capsys.readouterr().out
