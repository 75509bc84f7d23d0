"""Every code block the README shows either still holds, checked here or by the test named,
or is classed as illustrative with the reason it cannot be replayed word for word."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from foxden.cli.main import app
from tests.conftest import LiveServer, start_server

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

BLOCKS: dict[str, str] = {
    # start of the block's first line -> "test:<name>" (where it holds) or "illustrative: why"
    "$ python -m pip install -e '.[all]' && foxden serve": (
        "test:tests/test_docs.py::test_readme_has_two_set_up_commands_and_ci_runs_the_test_one;"
        " the output is illustrative: the key is random and the paths are the user's"
    ),
    "$ python -m pip install -e '.[all,dev]' && python -m pytest": (
        "test:tests/test_ci.py::test_ci_runs_the_tests_with_postgres_and_strict_skips"
    ),
    "from foxden.client import Client": (
        "illustrative: needs the demo server with its random key; every call it makes is "
        "tested in tests/client"
    ),
    "60AT10240468035 AIO-H3-10.0 Berlin Workshop": (
        "illustrative: output of the block above on the demo fleet (serials from its seed)"
    ),
    "foxden plants list | show ID | create FILE.json | update FILE.json | delete ID": (
        "test:test_synopsis_names_real_commands"
    ),
    "$ export FOXDEN_BASE_URL=http://127.0.0.1:8080 FOXDEN_API_KEY=": (
        "illustrative: live values of the demo fleet (status, quota used); the commands are "
        "checked by tests/test_docs.py::test_readme_foxden_commands_exist_with_their_options"
    ),
    "$ foxden serve --workers 2 --database-url": (
        "illustrative: the database and Redis are the user's; the same command runs in "
        "test:tests/server/test_workers.py::test_two_workers_answer_and_the_help_names_the_options"
    ),
    "$ cat night.json": "test:test_night_schedule_block_holds",
    "$ cat evening.json": "test:test_evening_schedule_block_holds",
    "$ foxden history 66BH502404ED555 --from 2026-11-23T12:00": (
        "illustrative: simulated values of one demo day; history tables are tested in "
        "tests/cli/test_api_cli.py"
    ),
    '$ foxden devices show NOSUCHSN; echo "exit $?"': "test:test_unknown_serial_block_holds",
    "from datetime import UTC, datetime, timedelta": (
        "illustrative: needs the demo server with its random key; the helpers are tested in "
        "tests/client/test_convenience.py"
    ),
    "['60AT10240468035', '60BT102404D8141', '60F302404336825']": (
        "illustrative: output of the block above on the demo fleet's simulated week"
    ),
    "$ foxden account create alice": (
        "illustrative: the keys are random and the counts depend on earlier calls; the "
        "commands are tested in tests/cli/test_admin_cli.py"
    ),
    '$ cd /tmp && foxden account create bob; echo "exit $?"': "test:test_no_database_block_holds",
    "$ foxden sim fault 66BH502404ED555 26": (
        "illustrative: needs the demo server's admin token; sim fault and clear are tested "
        "in tests/cli/test_admin_cli.py"
    ),
    "$ foxden chaos add --path /op/v0/device/battery/soc/get --errno 41200 --count 2": (
        "illustrative: needs the demo server's admin token; chaos commands are tested in "
        "tests/cli/test_double_cli.py"
    ),
    "src/foxden/": "test:test_source_tree_block_holds",
    '$ foxden gateway --upstream-key "$FOX_KEY"': (
        "illustrative: needs a cloud key; the commands are checked by "
        "tests/test_docs.py::test_readme_foxden_commands_exist_with_their_options and the "
        "gateway is tested against an upstream foxden in tests/gateway"
    ),
    "def test_a_fault_shows_at_once(foxden_server, foxden_client):": (
        "test:test_plugin_example_block_passes"
    ),
}


def _blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text("utf-8")
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)


def _block(first_line: str) -> str:
    found = [b for _, b in _blocks() if b.splitlines()[0].startswith(first_line)]
    assert len(found) == 1, first_line
    return found[0]


def test_every_readme_block_is_checked_or_classed_illustrative() -> None:
    firsts = [body.splitlines()[0] for _, body in _blocks()]
    assert len(firsts) == len(BLOCKS) >= 18
    for first in firsts:
        assert [k for k in BLOCKS if first.startswith(k)], f"README block not classed: {first}"
    for key in BLOCKS:
        assert [f for f in firsts if f.startswith(key)], f"no README block starts {key}"
    names = {n for n, v in globals().items() if n.startswith("test_") and callable(v)}
    for first, how in BLOCKS.items():
        assert how.startswith(("test:", "illustrative: ")), first
        if how.startswith("test:test_"):
            assert how[5:] in names, how
        elif how.startswith("test:"):
            file, name = how[5:].split(";")[0].split("::")
            assert re.search(rf"def {name}\b", (ROOT / file).read_text("utf-8")), how


def _leaf(root: Any, words: list[str]) -> tuple[Any, list[str]]:
    command, path = root, []
    while words and hasattr(command, "commands") and words[0] in command.commands:
        path.append(words[0])
        command = command.commands[words.pop(0)]
    return command, path


def test_synopsis_names_real_commands() -> None:
    """Every command of the synopsis exists, and every option it shows is the command's."""
    root = typer.main.get_command(app)
    block = _block("foxden plants list | show ID | create FILE.json | update FILE.json | delete ID")
    segments = re.findall(r"foxden (.*?)(?=\s{2,}foxden |\s{2,}\(|$)", block, re.M)
    leaves = 0
    for segment in segments:
        words = segment.split()
        command, path = _leaf(root, list(words))
        group = hasattr(command, "commands")
        parent = path if group else path[:-1]
        rest = words[len(parent) :]
        options: set[str] = set()
        for alternative in (w for w in rest if re.fullmatch(r"[a-z-]+(\|[a-z-]+)*", w)):
            for name in alternative.split("|"):
                leaf, found = _leaf(root, [*parent, name])
                if found != [*parent, name]:
                    assert group is False or name in {"on", "off"}, (segment, name)
                    continue
                assert not hasattr(leaf, "commands"), (segment, name)
                options |= {o for p in leaf.params for o in (*p.opts, *p.secondary_opts)}
                leaves += 1
        assert options or not group, segment
        for option in re.findall(r"(--[a-z][a-z0-9-]*)", segment):
            assert option in options, (segment, option)
    assert leaves >= 35


def _replay(block: str, fox: Fox) -> None:
    """Run every ``$ foxden ...`` line of a block (files from ``$ cat`` lines written first)
    and compare its output lines with the ones shown, table borders and titles aside."""
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.startswith("$ "):
            continue
        shown = []
        while i < len(lines) and not lines[i].startswith("$ "):
            shown.append(lines[i])
            i += 1
        command = line[2:]
        if command.startswith("cat "):
            fox.files[command[4:]] = "\n".join(shown)
            continue
        if command.startswith("sed -i "):
            expression, name = re.match(r"sed -i '(s/[^']+/)' (\S+) && (.*)", command).group(1, 2)  # type: ignore[union-attr]
            _, old, new, _ = expression.split("/")
            fox.files[name] = fox.files[name].replace(old, new)
            command = command.split(" && ", 1)[1]
        words = command.split()
        assert words[0] == "foxden", command
        args = [fox.path(w) for w in words[1:]]
        result = fox(*args)
        got = [r for r in result.output.splitlines() if r.startswith("│")]
        want = [r for r in shown if r.startswith("│")]
        assert got == want, (command, result.output)
        texts = [r for r in shown if r and r[0] not in "┏┃┡│└" and not r.startswith(" ")]
        for text in texts:
            assert text in result.output.replace("\n", " ") or text in result.output, (
                command,
                text,
                result.output,
            )
        assert result.exit_code == (1 if any(t.startswith("error:") for t in texts) else 0)


class Fox:
    def __init__(self, live: LiveServer, key: str, folder: Path) -> None:
        self.live, self.key, self.folder = live, key, folder
        self.files: dict[str, str] = {}

    def path(self, word: str) -> str:
        if word in self.files:
            target = self.folder / word
            target.write_text(self.files[word], "utf-8")
            return str(target)
        return word

    def __call__(self, *args: str) -> Result:
        full = [*args, "--base-url", self.live.url, "--api-key", self.key]
        env: dict[str, str | None] = {"FOXDEN_BASE_URL": None, "FOXDEN_API_KEY": None}
        return runner.invoke(app, full, env=env, terminal_width=200)


@pytest.fixture
def fox(tmp_path: Path) -> Iterator[Fox]:
    live = start_server(tmp_path / "server", rate_per_second=10**6, rate_burst=10**6)
    key = live.account("demo")
    live.device("demo", "66BH502404ED555", "H1-5.0-E")
    live.device("demo", "60BT102404D8141", "H3-10.0-E")
    live.device("demo", "60KE82404644051", "KH8")
    yield Fox(live, key, tmp_path)
    live.stop()


def test_night_schedule_block_holds(fox: Fox) -> None:
    _replay(_block("$ cat night.json"), fox)
    json.loads(fox.files["night.json"])


def test_evening_schedule_block_holds(fox: Fox) -> None:
    _replay(_block("$ cat evening.json"), fox)


def test_unknown_serial_block_holds(fox: Fox) -> None:
    block = _block('$ foxden devices show NOSUCHSN; echo "exit $?"')
    for command, error, code in re.findall(
        r'^\$ foxden (.+); echo "exit \$\?"\n(.+)\nexit (\d)$', block, re.M
    ):
        result = fox(*command.split())
        assert result.output.strip() == error
        assert result.exit_code == int(code)


def test_no_database_block_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = _block('$ cd /tmp && foxden account create bob; echo "exit $?"')
    _, error, code = block.splitlines()
    monkeypatch.chdir(tmp_path)
    env = {k: None for k in ("FOXDEN_DATA_DIR", "FOXDEN_DATABASE_URL")}
    result = runner.invoke(app, ["account", "create", "bob"], env=env, terminal_width=400)
    assert result.exit_code == int(code.split()[1])
    assert result.output.strip() == error.replace("/tmp/", f"{tmp_path}/")


def test_source_tree_block_holds() -> None:
    block = _block("src/foxden/")
    folders = re.findall(r"^  (\w+)/ ", block, re.M)
    assert folders == ["protocol", "server", "store", "sim", "client", "cli", "gateway"]
    for folder in folders:
        assert (ROOT / "src/foxden" / folder / "__init__.py").is_file()
    assert (ROOT / "src/foxden/server/areas").is_dir()
    assert (ROOT / "src/foxden/cli/common.py").is_file()
    assert (ROOT / "src/foxden/store/sqlite.py").is_file() and (
        ROOT / "src/foxden/store/postgres.py"
    ).is_file()


def test_plugin_example_block_passes(pytester: pytest.Pytester) -> None:
    """The README's pytest example, run as a test file of its own with the plugin."""
    from tests.double.test_plugin import plugin_args

    block = _block("def test_a_fault_shows_at_once(foxden_server, foxden_client):")
    (pytester.path / "test_readme_example.py").write_text(block, "utf-8")
    result = pytester.runpytest_subprocess(*plugin_args(), "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
