"""The code in the README and in docs/ runs as written, and the reference pages agree with the code.

Every ```toml block of README.md and docs/*.md must parse, and one that is a sweep of built-in
parts must validate as a sweep file. Every ```python block must compile. The documents listed in
SESSIONS run: within one, a block whose first line is `# NAME.py` or `# NAME.toml` is a file the
reader saves (written to the working folder), every other Python block runs, in order, in one
namespace (the reader's session), and a check then looks at what the session made.
The reference pages are checked against the code: docs/columns.md holds exactly the table that
scripts/metrics_table.py prints from scalinglab.metrics, docs/cli.md names every option of every
command and no other, docs/sweep-file.md names every field of the sweep file. Every link between
documents reaches a file and heading of this repository.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import tomllib
from cli_helpers import REPO

import scalinglab

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _blocks(path: Path) -> list[tuple[str, str]]:
    """(language, code) of every fenced block of `path`, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", path.read_text(), flags=re.DOTALL | re.MULTILINE)


def _named(path: Path) -> str:
    return str(path.relative_to(REPO))


def _saved_as(code: str) -> str | None:
    match = re.match(r"# (\w+\.(?:py|toml))\n", code)
    return match[1] if match else None


@pytest.mark.parametrize("path", DOCUMENTS, ids=_named)
def test_every_toml_block_parses_and_every_sweep_validates(path):
    from scalinglab.config import config_from_dict

    for language, code in _blocks(path):
        if language != "toml":
            continue
        table = tomllib.loads(code)
        model = table.get("model", {})
        if ":" in model.get("family", "") or "objective" in model or "params" in table:
            continue  # names the reader's own module: checked where the session saves it
        config_from_dict(table, source=f"{_named(path)} block")


@pytest.mark.parametrize("path", DOCUMENTS, ids=_named)
def test_every_python_block_compiles(path):
    for number, (language, code) in enumerate(_blocks(path), start=1):
        if language == "python":
            compile(code, f"{_named(path)}, block {number}", "exec")


def _readme_session(tmp_path: Path, session: dict) -> None:
    runs = scalinglab.results(tmp_path / "objective-out")
    assert set(runs["status"]) == {"ok"} and len(runs) == 16
    assert session["law"].params_["alpha"] > 0
    assert session["choice"].n_params > 0
    assert (tmp_path / "objective-report.html").is_file()


def _plugins_session(tmp_path: Path, session: dict) -> None:
    objective_runs = session["runs"]  # the page's last frame: the objective's sweep, read back
    assert set(objective_runs["status"]) == {"ok"} and len(objective_runs) == 20
    assert session["law"].params_["alpha"] > 0
    residual = scalinglab.results(tmp_path / "residual-out")
    assert len(residual) == 8 and set(residual["status"]) == {"ok"}


# Documents whose code runs as one reader's session, and what the session must have made.
SESSIONS = {"README.md": _readme_session, "docs/plugins.md": _plugins_session}


def test_the_sessions_have_runnable_python():
    for name in SESSIONS:
        languages = [language for language, _ in _blocks(REPO / name)]
        assert languages.count("python") >= 2, name
    plugins = [language for language, _ in _blocks(REPO / "docs/plugins.md")]
    assert plugins.count("python") >= 4 and "toml" in plugins


@pytest.mark.slow
@pytest.mark.parametrize("name", SESSIONS)
def test_the_snippets_run(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    session = {"__name__": "readme_session"}
    saved = []
    try:
        for language, code in _blocks(REPO / name):
            saved_as = _saved_as(code)
            if language == "python" and saved_as is None:
                exec(compile(code, name, "exec"), session)
            elif language in ("python", "toml") and saved_as:
                (tmp_path / saved_as).write_text(code)
                saved.append(Path(saved_as).stem)
            elif language == "toml":
                tomllib.loads(code)
    finally:
        for module in saved:
            sys.modules.pop(module, None)
    SESSIONS[name](tmp_path, session)
    assert "val_loss" in capsys.readouterr().out


def test_the_columns_page_holds_the_table_of_metrics():
    spec = importlib.util.spec_from_file_location("metrics_table", REPO / "scripts" / "metrics_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (REPO / "docs" / "columns.md").read_text()
    table = "\n".join(line for line in page.splitlines() if line.startswith("|"))
    assert table == module.metrics_table()


def _anchors(path: Path) -> set[str]:
    """The anchors of the headings of `path`, as GitHub makes them."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.DOTALL | re.MULTILINE)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("path", DOCUMENTS, ids=_named)
def test_links_stay_inside_the_repository_and_resolve(path):
    text = path.read_text()
    assert "../shared" not in text and "shared/DESIGN" not in text
    for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
        if re.match(r"\w+:", target):
            continue  # a web address
        resolved = (path.parent / target).resolve() if target else path
        assert resolved.is_relative_to(REPO.resolve()) and resolved.exists(), f"{_named(path)}: {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{_named(path)}: {target}#{anchor}"


def _sections(path: Path) -> dict[str, str]:
    """The text under each `## ` heading of `path`, by heading."""
    parts = re.split(r"^## (.+)$", path.read_text(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def test_the_cli_page_names_every_option_of_every_command_and_no_other():
    import typer

    from scalinglab import cli

    cli._register_commands()
    sections = _sections(REPO / "docs" / "cli.md")
    for name, command in typer.main.get_command(cli.app).commands.items():
        primary = {option for param in command.params for option in param.opts if option.startswith("--")}
        known = primary | {option for param in command.params for option in param.secondary_opts}
        documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", sections[name])) - {"--help"}
        assert primary - {"--help"} <= documented, f"{name}: undocumented {primary - documented}"
        assert documented <= known, f"{name}: no such option {documented - known}"


def test_the_sweep_file_page_names_every_field():
    from pydantic import BaseModel

    from scalinglab.config import SweepConfig
    from scalinglab.config_fields import _table_in as table_in  # the settings table a field holds, if any

    page = (REPO / "docs" / "sweep-file.md").read_text()

    def missing(model: type[BaseModel], prefix: str) -> list[str]:
        names = []
        for name, field in model.model_fields.items():
            table = table_in(field.annotation)
            if table is not None:
                names += missing(table, f"{prefix}{name}.")
            else:  # named as `field` or with any tail of its table path, e.g. `prune.sparsity`
                dotted = f"{prefix}{name}".split(".")
                tails = [".".join(dotted[start:]) for start in range(len(dotted))]
                if not any(f"`{tail}`" in page or f"`[{tail}]`" in page for tail in tails):
                    names.append(f"{prefix}{name}")
        return names

    assert missing(SweepConfig, "") == []
