"""`drona serve --watch`: rebuild when a content file is saved, then tell the open pages.

One background thread waits for file events (watchdog), lets a burst of saves settle, and runs
the ordinary build in this process, so later builds are warm (imports, templates, gzip cache).
Authored code runs only for exercise and quiz files that changed since they last passed; a
failed build keeps the last good site and reports its problems to the terminal and the pages.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from sidecar.engine import EngineFiles, engine_files

from .build import DEFAULT_BUILD_SETTINGS, BuildFailed, BuildSettings, build, project_config

# Editors write these beside the file being saved; they are not content.
IGNORED_SUFFIXES = (".swp", ".swx", ".swo", ".tmp", "~", ".kate-swp")
IGNORED_EVENTS = ("opened", "closed_no_write")


def _code_files(content_dir: Path) -> list[Path]:
    exercises_and_quizzes = [p for p in content_dir.glob("tracks/*/*/*/*/*.y*ml")
                             if p.parent.name in ("exercises", "quizzes")]
    certification = list(content_dir.glob("tracks/*/*/certification/*.y*ml"))  # Silver banks, Gold options
    return sorted(p.resolve() for p in [*exercises_and_quizzes, *certification])


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENTS or (event.is_directory and event.event_type == "modified"):
            return  # a folder's "modified" only echoes the file events inside it
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = Path(str(raw)) if raw else None
            if path is not None and self.watcher.wants(path):
                self.watcher.changed(path)


class Watcher:
    """Rebuilds `settings`' site whenever its inputs change; `on_built` / `on_failed` report results."""

    def __init__(self, *, content_dir: Path, build_dir: Path, site_url: str, log: Callable[[str], None],
                 on_built: Callable[[], None], on_failed: Callable[[list[str]], None],
                 engine: EngineFiles | None = None, settle_seconds: float = 0.05,
                 build_options: BuildSettings | None = None) -> None:
        self.content_dir = content_dir.resolve()
        self.build_options = build_options or DEFAULT_BUILD_SETTINGS  # build() args (cli.build_settings)
        self.project = self.content_dir.parent
        self.build_dir = build_dir
        self.site_url = site_url
        self.log = log
        self.on_built, self.on_failed = on_built, on_failed
        self.engine = engine or engine_files()
        self.settle_seconds = settle_seconds
        self._passed: dict[Path, str] = {}  # exercise/quiz file -> digest of the version whose code passed
        self._pending: set[Path] = set()
        self._last_event = 0.0
        self._wake = threading.Condition()
        self._stopping = False
        self._observer = Observer()
        self._thread = threading.Thread(target=self._loop, name="drona-watch", daemon=True)
        self.builds = 0

    # -- what is watched ---------------------------------------------------------------------------
    def roots(self) -> list[Path]:
        roots = [self.content_dir]
        config = project_config(self.project, self.engine)
        if config is not None:
            roots.append(config)
        if not self.engine.installed:  # working on the engine itself: its theme and schemas too
            roots += [self.engine.site_dir, self.engine.schemas_dir, self.engine.mkdocs_yml]
        return roots

    def describe(self) -> str:
        return ", ".join(str(p) for p in self.roots())

    def wants(self, path: Path) -> bool:
        if any(part.startswith(".") for part in path.parts[-3:]) or path.name.endswith(IGNORED_SUFFIXES):
            return False
        if path.name.isdigit():  # vim's write test file ("4913")
            return False
        return any(path == root or path.is_relative_to(root) for root in self.roots())

    # -- lifecycle ---------------------------------------------------------------------------------
    def _snapshot(self) -> dict[Path, str]:
        return {p: d for p in _code_files(self.content_dir) if (d := _digest(p)) is not None}

    def mark_current(self) -> None:
        """The site on disk was built from the content as it is now: its code checks passed."""
        self._passed = self._snapshot()

    def start(self) -> None:
        for root in self.roots():
            if root.is_dir():
                self._observer.schedule(_Handler(self), str(root), recursive=True)
            elif root.is_file():
                self._observer.schedule(_Handler(self), str(root.parent), recursive=False)
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._thread.join(timeout=30)

    def changed(self, path: Path) -> None:
        with self._wake:
            self._pending.add(path)
            self._last_event = time.monotonic()
            self._wake.notify_all()

    # -- rebuilding --------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                # Let a burst of saves (an editor writing several files, git checkout) settle.
                while (quiet := time.monotonic() - self._last_event) < self.settle_seconds:
                    self._wake.wait(self.settle_seconds - quiet)
                changed, self._pending = self._pending, set()
            self.rebuild(changed)

    def rebuild(self, changed: set[Path] | None = None) -> bool:
        started = time.perf_counter()
        names = sorted(str(p.relative_to(self.project)) if p.is_relative_to(self.project) else str(p)
                       for p in changed or ())
        if names:
            self.log(f"changed: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}")

        # Taken before the build reads the files: a file saved again meanwhile is checked next time.
        snapshot = self._snapshot()

        def needs_run(path: Path) -> bool:
            resolved = path.resolve()
            return self._passed.get(resolved) != snapshot.get(resolved, _digest(resolved))

        try:
            build(repo=self.project, content_dir=self.content_dir, build_dir=self.build_dir, site_url=self.site_url,
                  log=lambda _line: None, engine=self.engine, code_filter=needs_run,
                  **self.build_options)
        except BuildFailed as exc:
            problems = [str(p) for p in exc.problems.sorted()] if exc.problems else [str(exc)]
            for line in problems:
                self.log(line)
            self.log(f"build failed ({len(problems)} problem(s)); still serving the last good build")
            self.on_failed(problems)
            return False
        except Exception as exc:  # noqa: BLE001 - keep watching: the next save may fix it
            self.log(f"build failed: {type(exc).__name__}: {exc}")
            self.on_failed([f"{type(exc).__name__}: {exc}"])
            return False
        self._passed = snapshot
        self.builds += 1
        self.log(f"rebuilt in {time.perf_counter() - started:.2f} s")
        self.on_built()
        return True
