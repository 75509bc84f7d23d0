"""Tests that read the vendor's material beside the repository skip without it, except in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vendor import SPEC, shared_file


def test_absent_material_skips_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOXDEN_SHARED_DIR", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"not found in .*FOXDEN_SHARED_DIR"):
        shared_file(SPEC)


def test_absent_material_fails_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOXDEN_SHARED_DIR", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and vendor reference file"):
        shared_file(SPEC)


def test_present_material_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "spec").mkdir()
    (tmp_path / SPEC).write_text("Path: /op/v0/device/list\n", "utf-8")
    monkeypatch.setenv("FOXDEN_SHARED_DIR", str(tmp_path))
    assert shared_file(SPEC) == tmp_path / SPEC
