"""Lesson page readiness: time from navigation until the Run button is usable (`[data-state=ready]`).

cold: a fresh browser context (empty HTTP cache) opens the first lesson with an exercise; measured
      from the navigation's time origin to the moment an exercise or playground turns ready.
warm: in the same visit, a click on the next lesson with Python (Material's instant navigation,
      the worker already booted); measured from the click to ready.
Prints each run and the medians. Targets: cold < 3 s, warm < 1 s.

Run: .venv/bin/python bench/bench_page.py [--runs 5] [--url http://127.0.0.1:8000/] [--pages FIRST SECOND]
Without --url it builds the demo content into a temporary folder and starts `drona serve`.
--pages names the two lesson URLs (relative to the site root) instead of asking /api/catalog.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import CHROMIUM_ARGS, DemoSite, chromium_path, start_demo_site, stop  # noqa: E402

COLD_TARGET_S = 3.0
WARM_TARGET_S = 1.0
PYTHON_READY = '.drona-exercise[data-state="ready"], .drona-playground[data-state="ready"]'

# Records, in page time, the first moment a Python widget not seen before turns ready. The
# observer lives on <html>, which Material's instant navigation keeps.
OBSERVER = """
(() => {
  const bench = (window.__dronaBench = { readyAt: null, seen: new WeakSet() });
  const check = () => {
    for (const el of document.querySelectorAll(SELECTOR)) {
      if (bench.seen.has(el)) continue;
      bench.seen.add(el);
      if (bench.readyAt === null) bench.readyAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"],
  });
})();
""".replace("SELECTOR", json.dumps(PYTHON_READY))


def python_lessons(site: DemoSite) -> list[str]:
    """Lesson URLs, in course order, of lessons that place at least one exercise."""
    return [site.base_url + lesson["url"] for lesson in site.lessons() if lesson.get("exercise_ids")]


def one_visit(browser: Any, first: str, second: str) -> tuple[float, float | None, str]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script(OBSERVER)
        page = context.new_page()
        page.goto(first)
        page.wait_for_function("window.__dronaBench && window.__dronaBench.readyAt !== null", timeout=60_000)
        cold = page.evaluate("window.__dronaBench.readyAt") / 1000

        path = second.split("://", 1)[1].split("/", 1)[1]
        selector = f'.md-nav--primary a[href$="/{path.rstrip("/").split("/")[-1]}/"]'
        if page.locator(selector).count() == 0:
            return cold, None, "no link to the next lesson in the navigation"
        page.evaluate("window.__dronaBench.readyAt = null; window.__dronaBench.marker = true")
        started = time.monotonic()
        clicked_at = page.evaluate(
            "(s) => { const t = performance.now(); document.querySelector(s).click(); return t; }", selector)
        page.wait_for_url("**/" + path)
        page.wait_for_selector(PYTHON_READY, timeout=60_000)
        same_document = page.evaluate("!!(window.__dronaBench && window.__dronaBench.marker)")
        if same_document:
            page.wait_for_function("window.__dronaBench.readyAt !== null")
            warm = (page.evaluate("window.__dronaBench.readyAt") - clicked_at) / 1000
            return cold, warm, "instant navigation"
        return cold, time.monotonic() - started, "full page load (instant navigation inactive)"
    finally:
        context.close()


def bench(site: DemoSite, runs: int, pages: list[str] | None = None) -> int:
    lessons = [site.base_url + page.lstrip("/") for page in pages] if pages else python_lessons(site)
    if len(lessons) < 2:
        print("need two lessons with exercises")
        return 2
    executable = chromium_path()
    if executable is None:
        print("Chromium is not installed (set DRONA_CHROMIUM)")
        return 2
    from playwright.sync_api import sync_playwright

    colds: list[float] = []
    warms: list[float] = []
    modes: set[str] = set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for run in range(1, runs + 1):
                cold, warm, mode = one_visit(browser, lessons[0], lessons[1])
                colds.append(cold)
                modes.add(mode)
                if warm is not None:
                    warms.append(warm)
                warm_text = f"{warm:.2f} s" if warm is not None else "n/a"
                print(f"run {run}: cold {cold:.2f} s, warm {warm_text} ({mode})")
        finally:
            browser.close()
    cold_median = statistics.median(colds)
    print(f"first lesson:  {lessons[0]}")
    print(f"second lesson: {lessons[1]}")
    print(f"cold median {cold_median:.2f} s (target < {COLD_TARGET_S:g} s): "
          f"{'ok' if cold_median < COLD_TARGET_S else 'MISSED'}")
    ok = cold_median < COLD_TARGET_S
    if warms:
        warm_median = statistics.median(warms)
        print(f"warm median {warm_median:.2f} s (target < {WARM_TARGET_S:g} s): "
              f"{'ok' if warm_median < WARM_TARGET_S else 'MISSED'}; {', '.join(sorted(modes))}")
        ok = ok and warm_median < WARM_TARGET_S
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", help="an already served site (default: build and serve the demo content)")
    parser.add_argument("--pages", nargs=2, metavar=("FIRST", "SECOND"),
                        help="two lesson paths with Python, the second linked from the first's navigation")
    args = parser.parse_args()
    if args.url:
        sys.exit(bench(DemoSite(base_url=args.url.rstrip("/") + "/"), args.runs, args.pages))
    with tempfile.TemporaryDirectory() as tmp:
        site, proc = start_demo_site(Path(tmp))
        try:
            code = bench(site, args.runs, args.pages)
        finally:
            stop(proc)
    sys.exit(code)


if __name__ == "__main__":
    main()
