"""The vendor's reference material (its Open API document, real cloud samples) lives beside
the repository in ``../shared`` and is not part of it: a bare clone has none.

Tests that read it ask :func:`shared_file`, which skips them with the reason when the file is
absent, except in CI (``CI=true``), where the material is provided and absence is a failure.
``FOXDEN_SHARED_DIR`` points elsewhere (the folder that holds ``spec/`` and ``samples/``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = "FOXDEN_SHARED_DIR"
SPEC = "spec/000_b5422acc5bfaa84d.txt"
"""The vendor's Open API document V1.0.8, as text."""


def shared_dir() -> Path:
    return Path(os.environ.get(ENV) or ROOT.parent / "shared")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def shared_file(relative: str) -> Path:
    """The path of a file of the reference material; skips (fails in CI) when it is absent."""
    path = shared_dir() / relative
    if not path.is_file():
        reason = (
            f"vendor reference file {relative} not found in {shared_dir()} (it sits beside the "
            f"repository, not in it; set {ENV} to the folder holding spec/ and samples/)"
        )
        if in_ci():
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return path
