"""WCAG 2.2 AA in the browser: axe-core finds no serious or critical violation on any kind of page,
in the light and the dark theme, signed out and signed in; the code editor is reachable by a skip
link; the focus ring has 3:1 contrast; reduced motion stops our animations.

axe-core is served from node_modules (package.json pins it; never a CDN) and injected into each
page by Playwright. Each theme gets one browser context: Material's palette follows the system
("(prefers-color-scheme)" comes first in mkdocs.yml), so emulating the colour scheme picks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from sidecar.settings import REPO_ROOT

from .conftest import READY, DemoSite, answer_quiz, authored, set_code
from .test_learner import PASSWORD, TIMEZONE, call, fresh_email, onboard

pytestmark = pytest.mark.e2e

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = ("serious", "critical")
THEMES = {"light": "default", "dark": "slate"}

EXERCISE_LESSON = "python-developer/python-basics/getting-started/hello-python/"
CHALLENGE_LESSON = "python-developer/python-basics/loops/fizzbuzz-challenge/"
READING_LESSON = "python-developer/python-basics/getting-started/looking-back/"
TRACK_PAGE = "python-developer/"
COURSE_PAGE = "python-developer/python-basics/"
PLANNED_COURSE_PAGE = "ai-ml-engineer/ml-fundamentals/"  # a planned course: its outline


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the site's Content-Security-Policy refuses inline scripts.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary || ""})),
            }));
        }""",
        AXE_TAGS,
    )
    return [v for v in found if v["impact"] in BLOCKING]


def describe(where: str, violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for v in violations:
        for node in v["nodes"][:6]:
            summary = " ".join(node["summary"].split())[:300]
            lines.append(f"[{where}] {v['id']} ({v['impact']}): {node['target']} — {summary}")
        if len(v["nodes"]) > 6:
            lines.append(f"[{where}] {v['id']}: … and {len(v['nodes']) - 6} more nodes")
    return lines


@pytest.fixture(scope="module", params=list(THEMES))
def themed(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[str, Any]]:
    """One browser context per theme (signed out at first; the walk signs a learner up in it)."""
    theme = request.param
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=TIMEZONE,
                                  color_scheme=theme)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield theme, page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


class Audit:
    """Visits pages and collects axe-core's serious and critical violations on each."""

    def __init__(self, page: Any, site: DemoSite, theme: str) -> None:
        self.page, self.site, self.theme = page, site, theme
        self.problems: list[str] = []
        self.audited: list[str] = []

    def open(self, path: str, ready: str | None = None) -> None:
        self.page.goto(self.site.base_url + path)
        self.page.wait_for_load_state("load")
        if ready:
            self.page.wait_for_selector(ready, timeout=90_000)
        # Our widgets mount on document$; the user bar settles once the session is known.
        self.page.wait_for_selector("[data-drona-userbar]:not([data-state=loading])", state="attached")
        scheme = self.page.evaluate("document.body.getAttribute('data-md-color-scheme')")
        assert scheme == THEMES[self.theme], f"{path}: the page is in the {scheme} scheme, not {self.theme}"

    def check(self, label: str) -> None:
        self.audited.append(label)
        self.problems.extend(describe(f"{self.theme} {label}", axe_violations(self.page)))


def make_admin_of_new_org(site: DemoSite, email: str) -> None:
    if site.data_dir is None:
        pytest.skip("the database of an external server is not reachable")
    import uuid

    from sqlalchemy import update

    from sidecar.auth.tables import User
    from sidecar.db.engine import get_engine, write_session
    from sidecar.orgs.tables import Organization

    with write_session(get_engine(f"sqlite:///{site.data_dir.parent / 'learners.db'}")) as session:
        org = Organization(id=str(uuid.uuid4()), name="Audit Corp", seat_limit=25)
        session.add(org)
        session.flush()
        session.execute(update(User).where(User.email == email).values(organization_id=org.id,
                                                                       role="enterprise_admin"))


def make_super_admin(site: DemoSite, email: str) -> None:
    from sqlalchemy import update

    from sidecar.auth.tables import User
    from sidecar.db.engine import get_engine, write_session

    assert site.data_dir is not None
    with write_session(get_engine(f"sqlite:///{site.data_dir.parent / 'learners.db'}")) as session:
        session.execute(update(User).where(User.email == email).values(role="super_admin"))


def test_no_serious_axe_violations_on_any_page(themed: tuple[str, Any], demo_site: DemoSite) -> None:
    theme, page = themed
    site = demo_site
    audit = Audit(page, site, theme)
    quiz, _ = authored("quizzes", "*")
    quiz_lesson = site.lesson_url_with(quiz_id=quiz["id"]).removeprefix(site.base_url)

    # Signed out.
    audit.open("")
    audit.check("home")
    audit.open(TRACK_PAGE)
    audit.check("track")
    audit.open(COURSE_PAGE)
    audit.check("course")
    audit.open(PLANNED_COURSE_PAGE)
    audit.check("planned course outline")
    audit.open(EXERCISE_LESSON, ready=READY)
    audit.check("lesson signed out")
    audit.open("no/such/deep/page/here/")
    audit.check("404")
    audit.open("account/signin/", ready='[data-drona-app="signin"][data-state=ready]')
    audit.check("sign in")

    # A new learner, before onboarding.
    email = fresh_email()
    call(page, site, "POST", "auth/signup", {"email": email, "password": PASSWORD, "display_name": "Ada Lovelace"})
    audit.open("account/onboarding/", ready='[data-drona-app="onboarding"][data-state=ready]')
    audit.check("onboarding")
    onboard(page, site)

    # Signed in.
    audit.open(EXERCISE_LESSON, ready=READY)
    page.wait_for_selector("[data-drona-userbar][data-state=signed-in] [data-drona-xp]")
    audit.check("code exercise signed in")
    # Edited (a draft) and checked with a wrong answer: the test results, the failures, the draft status.
    exercise = page.locator(".drona-exercise").first
    set_code(page, exercise, 'print("not quite")\n')
    exercise.get_by_role("button", name="Check").click()
    page.wait_for_selector('[data-drona-server-check][data-state="failed"]', timeout=60_000)
    page.wait_for_timeout(2000)  # the draft is saved after typing stops
    audit.check("code exercise checked")
    # The Visualization canvas, open on the learner's code: frames, boxes, arrows, the step controls.
    exercise.get_by_role("button", name="Visualize").click()
    exercise.locator(".drona-viz:not([hidden])").wait_for(timeout=60_000)
    audit.check("visualizer")
    audit.open(quiz_lesson, ready=f'.drona-quiz[data-quiz-id="{quiz["id"]}"][data-state=ready]')
    audit.check("quiz")
    answer_quiz(page, quiz)
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_selector(".drona-quiz[data-result]")
    page.wait_for_timeout(600)  # let the reward toast and XP pop appear
    audit.check("quiz answered")
    audit.open(CHALLENGE_LESSON, ready=READY)
    audit.check("challenge")
    audit.open("dashboard/", ready='[data-drona-app="dashboard"][data-state=ready]')
    audit.check("dashboard")
    audit.open("progress/", ready="[data-drona-analytics=individual]")
    audit.check("your progress")
    audit.open("review/", ready='[data-drona-app="review"][data-state]')
    audit.check("daily review")
    audit.open("leaderboard/", ready='[data-drona-app="leaderboard"][data-state=ready]')
    audit.check("leaderboard")
    audit.open("account/settings/", ready='[data-drona-app="settings"][data-state=ready]')
    audit.check("settings")
    # The same learner made an organisation's admin (set up in the database: the audit is of the page),
    # with a team they manage and an assignment: every section of the organisation page, and the
    # dashboard's "Assigned to you" card.
    make_admin_of_new_org(site, email)
    me = call(page, site, "GET", "me")
    team = call(page, site, "POST", f"orgs/{me['organization_id']}/teams", {"name": "Platform"})
    call(page, site, "POST", f"teams/{team['id']}/members", {"email": email, "role": "manager"})
    course = next(c for t in call(page, site, "GET", "catalog")["tracks"] for c in t["courses"]
                  if c["status"] == "active")
    call(page, site, "POST", f"orgs/{me['organization_id']}/assignments",
         {"course_id": course["id"], "team_id": team["id"], "due_at": "2099-01-01T12:00:00+00:00"})
    audit.open("organisation/", ready='[data-drona-app="org"][data-state=ready]')
    audit.check("organisation")
    audit.open(f"analytics/team/?team={team['id']}", ready="[data-drona-analytics=team]")
    audit.check("team dashboard")
    audit.open("analytics/organisation/", ready="[data-drona-analytics=organization]")
    audit.check("organisation dashboard")
    audit.open("dashboard/", ready='[data-drona-app="dashboard"][data-state=ready] .drona-dash-card--assigned')
    audit.check("dashboard with assignments")
    audit.open(READING_LESSON, ready="[data-drona-lesson-status]")
    audit.check("reading lesson signed in")
    audit.open(COURSE_PAGE)
    audit.check("course signed in")
    audit.open("")
    audit.check("home signed in")
    # The same account made a super admin: the support page, with a search and an account opened.
    make_super_admin(site, email)
    audit.open("support/", ready='[data-drona-app="support"][data-state=ready]')
    page.get_by_label("Email or name").fill(email.split("@")[0])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name=f"Open {email}").click()
    page.wait_for_selector("[data-drona-support-account]")
    audit.check("support with an account open")
    audit.open("analytics/platform/", ready="[data-drona-analytics=platform]")
    audit.check("platform dashboard")

    assert len(audit.audited) == 28
    assert not audit.problems, f"{len(audit.problems)} serious/critical axe-core findings:\n" + "\n".join(
        audit.problems)


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def parse_rgb(css: str) -> tuple[float, ...]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    assert len(numbers) >= 3, f"not an rgb() colour: {css}"
    return tuple(numbers)


# What a focus ring is drawn on: the first opaque background under a point just outside the
# element's outline (the skip link floats over the header, so its DOM parents would mislead).
BACKGROUND_JS = """(el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const gap = parseFloat(s.outlineWidth) + Math.max(0, parseFloat(s.outlineOffset)) + 1;
    const x = Math.max(0, r.left - gap), y = r.top + r.height / 2;
    const hit = document.elementsFromPoint(x, y).find((n) => n !== el && !el.contains(n));
    for (let node = hit; node; node = node.parentElement) {
        const m = getComputedStyle(node).backgroundColor.match(/[\\d.]+/g);
        if (m && (m.length < 4 || parseFloat(m[3]) > 0.9)) return getComputedStyle(node).backgroundColor;
    }
    return getComputedStyle(document.body).backgroundColor;
}"""


RING_JS = "(el) => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"


def focus_ring_contrast(page: Any, where: str) -> float:
    """The focused element's outline: present, at least 2px, and its contrast with what is behind it."""
    focused = page.locator(":focus")
    style, width, colour = focused.evaluate(RING_JS)
    assert style != "none" and float(width.removesuffix("px")) >= 2, f"{where}: focus ring {style} {width}"
    return contrast(parse_rgb(colour), parse_rgb(focused.evaluate(BACKGROUND_JS)))


def tab_until(page: Any, predicate_js: str, limit: int) -> int:
    """Press Tab until the focused element matches; the number of presses (fails past limit)."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(predicate_js):
            return presses
    pytest.fail(f"not reached within {limit} Tab presses: {predicate_js}")


@pytest.mark.parametrize("theme", list(THEMES))
def test_skip_link_reaches_the_editor_and_the_focus_ring_has_contrast(
        browser: Any, demo_site: DemoSite, theme: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=theme)
    context.set_default_timeout(30_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(demo_site.base_url + EXERCISE_LESSON)
        page.wait_for_selector(READY, timeout=90_000)
        page.wait_for_selector("[data-drona-userbar]:not([data-state=loading])", state="attached")

        # From the top of the page, the skip link is among the first 3 Tab stops and shows when focused.
        page.locator("body").focus()
        tab_until(page, "document.activeElement.textContent.trim() === 'Skip to the code editor'", 3)
        assert page.locator(":focus").is_visible(), "the skip link shows when focused"
        ratio = focus_ring_contrast(page, "skip link")
        assert ratio >= 3, f"{theme}: the skip link's focus ring is {ratio:.2f}:1"

        # Enter lands in the page's first code editor (a playground comes before the exercise here),
        # and Material's instant navigation does not reload the page under it.
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.activeElement === document.querySelector('.cm-content')")
        page.wait_for_timeout(300)
        assert page.evaluate("document.activeElement === document.querySelector('.cm-content')")

        # A button in the content: Tab out of the editor's toolbar and back.
        page.locator(".drona-exercise button").first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        ratio = focus_ring_contrast(page, "exercise button")
        assert ratio >= 3, f"{theme}: a content button's focus ring is {ratio:.2f}:1"

        # The header (indigo in both schemes): the user bar's Sign in link.
        page.locator(".md-header .md-logo").focus()
        tab_until(page, "document.activeElement.closest('[data-drona-userbar]') !== null", 8)
        ratio = focus_ring_contrast(page, "header link")
        assert ratio >= 3, f"{theme}: the header's focus ring is {ratio:.2f}:1"
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_reduced_motion_stops_our_animations(browser: Any, demo_site: DemoSite) -> None:
    durations_js = """(selector) => {
        const el = document.querySelector(selector);
        const s = getComputedStyle(el);
        const secs = (v) => v.split(",").map((t) => parseFloat(t) * (t.trim().endsWith("ms") ? 0.001 : 1));
        return Math.max(...secs(s.transitionDuration), ...secs(s.animationDuration));
    }"""
    probe_js = """() => {
        const toast = document.createElement("div");
        toast.className = "drona-toast drona-toast--celebrate";
        toast.id = "a11y-probe-toast";
        document.body.append(toast);
    }"""
    seen = {}
    for motion in ("no-preference", "reduce"):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion=motion)
        try:
            page = context.new_page()
            page.goto(demo_site.base_url + EXERCISE_LESSON)
            page.wait_for_selector(".drona-progress__fill", state="attached")
            page.evaluate(probe_js)
            seen[motion] = (page.evaluate(durations_js, ".drona-progress__fill"),
                            page.evaluate(durations_js, "#a11y-probe-toast"))
        finally:
            context.close()
    assert max(seen["no-preference"]) > 0.05, f"the progress fill or toast animates normally: {seen}"
    assert max(seen["reduce"]) <= 0.01, f"reduced motion leaves animations running: {seen}"
