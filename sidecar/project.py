"""The content repository `drona` works in, found from the working directory as git finds `.git`.

A project is a folder holding `content/` (with `tracks/` or `domains.yaml` in it). `drona` run
anywhere inside one uses its content/, build/ and data/ folders and its .env file; outside any
project these defaults are relative to the working directory, and commands that need content say
so clearly. The engine's own checkout is a project too: its content/ is the demo course.
"""

from __future__ import annotations

from pathlib import Path

CONTENT = "content"


def _looks_like_content(folder: Path) -> bool:
    return (folder / "tracks").is_dir() or (folder / "domains.yaml").is_file()


def find_project(start: Path | None = None) -> Path | None:
    """The nearest folder, from `start` (the working directory) upwards, that holds course content."""
    here = (start or Path.cwd()).resolve()
    if (here / CONTENT).is_dir():
        return here  # even an empty content/ here is meant: validate then says what is missing
    for folder in here.parents:
        if _looks_like_content(folder / CONTENT):
            return folder
    return None


def project_root(start: Path | None = None) -> Path:
    """The project's folder, or the working directory when there is none."""
    return find_project(start) or (start or Path.cwd()).resolve()
