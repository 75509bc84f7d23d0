"""The docs tell the truth: coverage.md names tests that exist, for every endpoint; the
README's set-up commands are the ones CI runs and its foxden commands exist."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import typer

from foxden.cli.main import app
from foxden.protocol.endpoints import ENDPOINTS

ROOT = Path(__file__).resolve().parents[1]


def test_coverage_lists_every_endpoint_with_existing_tests() -> None:
    text = (ROOT / "docs/coverage.md").read_text("utf-8")
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    paths = {line.split("|")[3].strip() for line in rows}
    assert paths == {e.path for e in ENDPOINTS}
    cited = 0
    for line in rows:
        for file, names in re.findall(r"`(tests/[\w/]+\.py)`: ([\w, ]+)", line):
            source = (ROOT / file).read_text("utf-8")
            for name in (n.strip() for n in names.split(",")):
                assert re.search(rf"def {name}\b", source), f"{file} has no {name}"
                cited += 1
    assert cited >= 100


# ---------------------------------------------------------------- README commands


def _readme() -> str:
    return (ROOT / "README.md").read_text("utf-8")


def _prompts(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("$ ")]


def test_readme_has_two_set_up_commands_and_ci_runs_the_test_one() -> None:
    setup = _readme().split("## Set-up (two commands)", 1)[1].split("\n## ", 1)[0]
    serve, tests = _prompts(setup)
    assert re.fullmatch(r"python -m pip install -e '\.\[([\w,]+)\]' && foxden serve", serve)
    assert re.fullmatch(r"python -m pip install -e '\.\[([\w,]+)\]' && python -m pytest", tests)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"][
        "optional-dependencies"
    ]
    for command in (serve, tests):
        wanted = re.findall(r"\[([\w,]+)\]", command)[0].split(",")
        assert set(wanted) <= set(extras), command
    ci = (ROOT / ".ci/run").read_text("utf-8").splitlines()
    assert [line for line in ci if line.startswith("python -m pytest") or tests in line] == [
        f"{tests} </dev/null"
    ]
    assert {"ruff check .", "ruff format --check .", "mypy"} <= set(ci)


def _command(root: Any, words: list[str]) -> tuple[Any, list[str]]:
    """The command a foxden command line names, and the words after it."""
    command = root
    while words and hasattr(command, "commands") and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    return command, words


def _foxden_lines(text: str) -> list[list[str]]:
    """Every foxden invocation in README prompts, cut at pipes, redirections and ;."""
    found = []
    for prompt in _prompts(text):
        for part in re.split(r"&&|\||;", prompt):
            words = shlex.split(part.split(">")[0])
            if words[:1] == ["foxden"]:
                found.append(words[1:])
    return found


def test_readme_foxden_commands_exist_with_their_options() -> None:
    root = typer.main.get_command(app)
    lines = _foxden_lines(_readme())
    assert len(lines) >= 15
    for words in lines:
        command, rest = _command(root, list(words))
        # a leaf, or a group that runs by itself (foxden gateway): a real command
        assert not hasattr(command, "commands") or command.invoke_without_command, words
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        options |= {o for p in root.params for o in p.opts}
        for word in rest:
            if word.startswith("-"):
                assert word.split("=")[0] in options, (words, word)
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        given = [w for w in rest if not w.startswith("-")]
        required = [p for p in arguments if p.required]
        assert len(given) >= len(required), words


def test_fidelity_rows_name_tests_that_exist() -> None:
    """Every row of docs/fidelity.md has a source and names tests that exist."""
    text = (ROOT / "docs/fidelity.md").read_text("utf-8")
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith(("| Behaviour", "|---"))
    ]
    assert len(rows) >= 10
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 4 and all(cells), line
        cited = re.findall(r"`(tests/[\w/]+\.py)`: ([\w, ]+)", cells[3])
        assert cited, line
        for file, names in cited:
            source = (ROOT / file).read_text("utf-8")
            for name in (n.strip() for n in names.split(",")):
                assert re.search(rf"def {name}\b", source), f"{file} has no {name}"
