"""Shared fixtures. Fixtures double as demo data: the demo build is the real demo course."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sidecar.compiler.build import BuildReport, build
from sidecar.settings import REPO_ROOT

MINIMAL = Path(__file__).parent / "fixtures" / "minimal"


@pytest.fixture
def content_tree(tmp_path: Path) -> Path:
    """A writable copy of the minimal valid content tree; returns the copy's root."""
    shutil.copytree(MINIMAL, tmp_path, dirs_exist_ok=True)
    return tmp_path


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The demo course (content/) built once per test session."""
    build_dir = tmp_path_factory.mktemp("demo-build")
    return build(repo=REPO_ROOT, content_dir=REPO_ROOT / "content", build_dir=build_dir, log=lambda _: None)


@pytest.fixture(scope="session")
def minimal_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The minimal fixture course built once per session (fast; known ids)."""
    return build(repo=REPO_ROOT, content_dir=MINIMAL / "content", build_dir=tmp_path_factory.mktemp("minimal-build"),
                 log=lambda _: None)
