"""The Visualization canvas in Chromium: time to the first step of a 1,000-step program, and the
frame time while scrubbing through it.

first step: from the click on Visualize to the canvas showing step 1 (the program traced in the
            page's Pyodide worker, the trace sent to the page, parsed and drawn). The first run
            of a page also fetches and imports the tracer; later runs do not. Target < 1 s.
scrub:      the slider moved to a random step, SCRUBS times: the time to redraw that step (code
            highlight, frames, heap boxes, arrows, with the layout the arrows force), and the
            interval between animation frames while scrubbing one step per frame. Target < 16 ms.

Run: .venv/bin/python bench/bench_visualizer.py [--runs 5] [--url http://127.0.0.1:8000/]
Without --url it builds the demo content into a temporary folder and starts `drona serve`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import CHROMIUM_ARGS, DemoSite, chromium_path, start_demo_site, stop  # noqa: E402

FIRST_STEP_TARGET_MS = 1000.0
FRAME_TARGET_MS = 16.0
SCRUBS = 300
# 1,000 steps (the limit): a growing list, a running total, a function call per pass.
PROGRAM = """def weight(n):
    return n % 7

items = []
total = 0
for i in range(400):
    items.append(weight(i))
    total = total + items[-1]
print(total)
"""

CLICK_TO_FIRST_STEP = """
async (selector) => {
  const widget = document.querySelector(selector);
  const viz = widget.querySelector(".drona-viz");
  viz.hidden = true;
  delete viz.dataset.step;
  const button = [...widget.querySelectorAll("button")].find((b) => b.textContent.trim() === "Visualize");
  const started = performance.now();
  const shown = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (!viz.hidden && viz.dataset.step === "0") { observer.disconnect(); resolve(performance.now()); }
    });
    observer.observe(viz, { attributes: true, attributeFilter: ["hidden", "data-step"] });
  });
  button.click();
  const at = await shown;
  return { ms: at - started, steps: Number(viz.querySelector(".drona-viz__slider").max) + 1 };
}
"""

SCRUB = """
async ([selector, count]) => {
  const viz = document.querySelector(selector + " .drona-viz");
  const slider = viz.querySelector(".drona-viz__slider");
  const last = Number(slider.max);
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % (last + 1);
  const redraws = [];
  for (let i = 0; i < count; i++) {
    slider.value = String(next());
    const t0 = performance.now();
    slider.dispatchEvent(new Event("input"));
    viz.querySelector(".drona-viz__memory").getBoundingClientRect();
    redraws.push(performance.now() - t0);
  }
  // One step per animation frame, as a dragged slider does: the intervals between frames.
  const frames = await new Promise((resolve) => {
    const stamps = [];
    let step = 0;
    const tick = (now) => {
      stamps.push(now);
      slider.value = String(step++ % (last + 1));
      slider.dispatchEvent(new Event("input"));
      if (stamps.length <= count) requestAnimationFrame(tick);
      else resolve(stamps.slice(1).map((t, i) => t - stamps[i]));
    };
    requestAnimationFrame(tick);
  });
  return { redraws, frames };
}
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench(site: DemoSite, runs: int) -> int:
    executable = chromium_path()
    if executable is None:
        print("Chromium is not installed (set DRONA_CHROMIUM)")
        return 2
    lesson = next((lesson for lesson in site.lessons() if lesson.get("exercise_ids")), None)
    if lesson is None:
        print("no lesson with an exercise")
        return 2
    from playwright.sync_api import sync_playwright

    firsts: list[float] = []
    redraws: list[float] = []
    frames: list[float] = []
    cold: float | None = None
    steps = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page: Any = context.new_page()
            page.goto(site.base_url + lesson["url"])
            selector = f'.drona-exercise[data-exercise-id="{lesson["exercise_ids"][0]}"]'
            page.wait_for_selector(f"{selector}[data-state=ready]", timeout=60_000)
            page.locator(f"{selector} .cm-content").click()
            page.keyboard.press("ControlOrMeta+A")
            page.keyboard.insert_text(PROGRAM)
            for run in range(0, runs + 1):
                result = page.evaluate(CLICK_TO_FIRST_STEP, selector)
                page.wait_for_selector(f"{selector}[data-state=ready]")
                steps = result["steps"]
                if run == 0:
                    cold = result["ms"]
                    print(f"first visualization on the page (imports the tracer): {cold:.0f} ms, {steps} steps")
                    continue
                firsts.append(result["ms"])
                scrub = page.evaluate(SCRUB, [selector, SCRUBS])
                redraws.extend(scrub["redraws"])
                frames.extend(scrub["frames"])
                redraw = statistics.median(scrub["redraws"])
                frame = percentile(scrub["frames"], 0.95)
                print(f"run {run}: first step {result['ms']:.0f} ms; "
                      f"redraw p50 {redraw:.2f} ms, frame p95 {frame:.1f} ms")
            context.close()
        finally:
            browser.close()
    first_median = statistics.median(firsts)
    redraw_p95 = percentile(redraws, 0.95)
    frame_p95 = percentile(frames, 0.95)
    print(f"program: {steps} steps; lesson {lesson['url']}")
    print(f"time to first step: median {first_median:.0f} ms, cold {cold:.0f} ms "
          f"(target < {FIRST_STEP_TARGET_MS:.0f} ms): {'ok' if first_median < FIRST_STEP_TARGET_MS else 'MISSED'}")
    print(f"scrub redraw: p50 {statistics.median(redraws):.2f} ms, p95 {redraw_p95:.2f} ms, max {max(redraws):.2f} ms "
          f"over {len(redraws)} random steps")
    print(f"scrub frame interval: p50 {statistics.median(frames):.1f} ms, p95 {frame_p95:.1f} ms "
          f"(target < {FRAME_TARGET_MS:.0f} ms redraw, a 60 Hz frame): "
          f"{'ok' if redraw_p95 < FRAME_TARGET_MS else 'MISSED'}")
    return 0 if first_median < FIRST_STEP_TARGET_MS and redraw_p95 < FRAME_TARGET_MS else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", help="an already served site (default: build and serve the demo content)")
    args = parser.parse_args()
    if args.url:
        sys.exit(bench(DemoSite(base_url=args.url.rstrip("/") + "/"), args.runs))
    with tempfile.TemporaryDirectory() as tmp:
        site, proc = start_demo_site(Path(tmp))
        try:
            code = bench(site, args.runs)
        finally:
            stop(proc)
    sys.exit(code)


if __name__ == "__main__":
    main()
