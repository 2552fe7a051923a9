"""Build time and output size: the demo catalog and a generated catalog of 2,000 lessons.

Targets on the 2-core reference machine: 2,000 lessons in under 40 s, output under 200 MB.
Run: .venv/bin/python bench/bench_build.py [--lessons N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate_catalog import generate  # noqa: E402
from sidecar.compiler.build import build  # noqa: E402
from sidecar.settings import REPO_ROOT  # noqa: E402


def measure(name: str, content: Path, out: Path) -> None:
    report = build(repo=REPO_ROOT, content_dir=content, build_dir=out, log=lambda _: None)
    pyodide = sum(p.stat().st_size for p in (report.site_dir / "pyodide").rglob("*") if p.is_file())
    stages = ", ".join(f"{stage.split(' ')[0]} {seconds:.1f}s" for stage, seconds in report.stages)
    print(f"{name}: {report.lessons} lessons, {report.exercises} exercises, {report.pages} pages, "
          f"{report.programs_checked} programs checked")
    print(f"  build time {report.seconds:.1f} s ({stages})")
    print(f"  output {report.site_bytes / 1e6:.1f} MB (of which Pyodide {pyodide / 1e6:.1f} MB), "
          f"catalog.db {report.catalog_db.stat().st_size / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lessons", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("demo catalog", REPO_ROOT / "content", Path(tmp) / "demo")
        content = generate(Path(tmp) / "generated", args.lessons)
        measure(f"generated catalog ({args.lessons} lessons)", content, Path(tmp) / "big")


if __name__ == "__main__":
    main()
