"""The pytest plugin (foxden.testing) run by pytester: the worked example of
docs/testing.md as written there, the demo default, the async client, marker settings,
and a suite that asks for no fixture (nothing started, nothing changed)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BLOCK = re.compile(r"```(?:python|toml)\n# (\S+)\n(.*?)```", re.S)


def plugin_args() -> list[str]:
    """``-p foxden.testing`` unless the installed package already registers it."""
    installed = any(ep.value == "foxden.testing" for ep in metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "foxden.testing"]


def doc_files() -> dict[str, str]:
    return {name: text for name, text in BLOCK.findall(DOC.read_text("utf-8"))}


def test_the_worked_example_of_the_docs_passes(pytester: pytest.Pytester) -> None:
    files = doc_files()
    assert set(files) == {"poller.py", "test_poller.py", "fleet.toml"}
    for name, text in files.items():
        (pytester.path / name).write_text(text, "utf-8")
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess(*plugin_args(), "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    readme = (DOC.parents[1] / "README.md").read_text("utf-8")
    section = readme.split("## Testing your integration", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, re.S)
    pytester.makepyfile(test_readme=example)
    result = pytester.runpytest_subprocess(*plugin_args(), "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_demo_fleet_clients_and_marker_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_demo="""
        import asyncio

        import pytest

        from foxden.client import RateLimitedError

        def test_demo_fleet(foxden_server, foxden_client):
            devices = foxden_client.device_list().data
            assert len(devices) == 6 and {d.status for d in devices} == {1}
            assert foxden_server.keys == {"demo": foxden_server.api_key}
            before = foxden_server.now_ms()
            assert foxden_server.advance(600) >= 6
            assert foxden_server.now_ms() == before + 600_000
            assert len(foxden_server.requests("/op/v0/device/list")) == 1

        def test_async_client(foxden_async_client):
            async def main():
                devices = await foxden_async_client.device_list()
                await foxden_async_client.aclose()
                return devices.total
            assert asyncio.run(main()) == 6

        @pytest.mark.foxden_scenario(limit_profile="cloud")
        def test_cloud_pacing(foxden_server, foxden_client):
            sn = foxden_client.device_list().data[0].deviceSN
            foxden_client.real_time(sn)
            with pytest.raises(RateLimitedError) as caught:
                foxden_client.real_time(sn)
            assert caught.value.errno == 40400

        def test_verify_helper_failure_says_what_was_called(foxden_server, foxden_client):
            foxden_client.device_list()
            with pytest.raises(AssertionError) as caught:
                foxden_server.assert_called("/op/v0/device/list", 2)
            assert "called 1 times, expected 2" in str(caught.value)
            with pytest.raises(AssertionError, match="never called"):
                foxden_server.assert_called("/op/v0/plant/list")
        """
    )
    result = pytester.runpytest_subprocess(*plugin_args(), "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_a_suite_that_asks_for_nothing_is_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import threading

        def test_nothing_started():
            assert [t.name for t in threading.enumerate()] == ["MainThread"]

        def test_own_fixture_names_still_work(tmp_path):
            assert tmp_path.exists()
        """
    )
    result = pytester.runpytest_subprocess(*plugin_args(), "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result = pytester.runpytest_subprocess(*plugin_args(), "--markers")
    result.stdout.fnmatch_lines(["*foxden_scenario(path, **settings)*"])
    result = pytester.runpytest_subprocess(*plugin_args(), "--fixtures")
    result.stdout.fnmatch_lines(["*foxden_server*", "*foxden_client*", "*foxden_async_client*"])
