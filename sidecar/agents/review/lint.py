"""A real linter (ruff) on learner code, as a separate process that reads the code from stdin.

Ruff is a Rust binary: it parses the code and never runs it, and nothing is written to disk.
`--isolated` ignores any configuration file near the working directory, `--no-cache` leaves no
files behind, and the child gets an empty environment and a short timeout. Only rules with a
learner-friendly text below are selected: ruff's own messages often name the fix ("Use X"),
and its autofix suggestions are never passed on.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .findings import Finding

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Rule:
    category: str
    severity: str
    message: str  # {name}: the first `name` in ruff's message (the learner's own identifier); {line}
    question: str


RULES: dict[str, Rule] = {
    "F401": Rule("style", "info", "`{name}` is imported on line {line} but never used.",
                 "Is this import left over from an earlier idea, or did you mean to use it somewhere?"),
    "F811": Rule("correctness", "warning", "`{name}` is defined again on line {line} before the earlier "
                 "definition was ever used.",
                 "Which of the two definitions does the rest of the program actually use? Do you need both?"),
    "F821": Rule("correctness", "error", "On line {line}, Python doesn't know anything called `{name}`.",
                 "Where is `{name}` created? Is it spelled (and capitalised) the same everywhere, and does that line "
                 "run before line {line}?"),
    "F823": Rule("correctness", "error", "`{name}` is read on line {line} before this function gives it a value. "
                 "Because the function assigns to `{name}` somewhere, Python treats it as a new local variable "
                 "everywhere in the function.",
                 "Do you mean the `{name}` from outside the function, or a new one? How could the function receive "
                 "the outside value?"),
    "F841": Rule("style", "warning", "`{name}` gets a value on line {line} but is never used afterwards.",
                 "What did you plan to do with `{name}`? Is a later line using a different name by mistake?"),
    "F632": Rule("correctness", "warning", "Line {line} uses `is` to compare with a number or text. `is` asks "
                 "whether two things are the very same object, which is not the same as equal.",
                 "Do you want to know whether two values are equal, or whether they are one object in memory?"),
    "F541": Rule("style", "info", "The f-string on line {line} has no `{{...}}` placeholders, so the `f` does "
                 "nothing.", "Did you mean to put a variable's value inside braces in this text?"),
    "E711": Rule("style", "info", "Line {line} compares with None using `==` or `!=`.",
                 "None is one unique object. Which operator asks whether something *is* that object?"),
    "E712": Rule("style", "info", "Line {line} compares with True or False, which asks the same question twice.",
                 "What would the condition do on its own, without the comparison?"),
    "E713": Rule("style", "info", "Line {line} writes `not ... in ...`, which reads like `(not ...) in ...`.",
                 "How does Python spell 'is not in' so that it reads like English?"),
    "E714": Rule("style", "info", "Line {line} writes `not ... is ...`, which reads like `(not ...) is ...`.",
                 "How does Python spell 'is not' as one operator?"),
    "E721": Rule("style", "info", "Line {line} compares types with `==`, which misses subclasses (a bool is also "
                 "an int).", "Which built-in function asks whether a value is of a given type?"),
    "E722": Rule("correctness", "warning", "The bare `except:` on line {line} catches every error, typos included.",
                 "Which error do you expect here? What should happen with any other?"),
    "E731": Rule("style", "info", "Line {line} stores a lambda in a variable: a function without a proper name in "
                 "error messages.", "Which statement creates a named function?"),
    "E741": Rule("style", "info", "`{name}` (line {line}) is easy to mistake for 1 or 0 in many fonts.",
                 "What name would tell a reader what this variable holds?"),
    "E701": Rule("style", "info", "Line {line} puts a statement on the same line as its `:`.",
                 "Would the block be easier to read (and to step through) with its body on its own line?"),
    "E702": Rule("style", "info", "Line {line} puts two statements on one line with `;`.",
                 "Would each statement on its own line be easier to read and debug?"),
    "E703": Rule("style", "info", "The `;` at the end of line {line} does nothing in Python.",
                 "Which languages need a semicolon at the end of a statement? Does Python?"),
    "W605": Rule("correctness", "warning", "The text on line {line} contains a backslash sequence Python does not "
                 "know, so the backslash may not mean what you think.",
                 "Which characters does a backslash combine with inside a string? How do you write a backslash "
                 "itself?"),
    "B006": Rule("correctness", "warning", "A default value on line {line} is a list, dict or set: it is created "
                 "once and shared by every call.",
                 "What does the second call see if the first call changed the default?"),
    "B007": Rule("style", "info", "The loop variable `{name}` (line {line}) is never used inside the loop.",
                 "Do you need the value on each pass, or only the repetition? How do Python programmers name a "
                 "variable they don't need?"),
    "B015": Rule("correctness", "warning", "Line {line} compares two values and throws the answer away.",
                 "Did you want to compare here, or to assign? Which operator does which?"),
    "B018": Rule("correctness", "warning", "Line {line} works out a value but does nothing with it.",
                 "Where should this value go: into a variable, into print(...), or back to the caller?"),
    "B020": Rule("correctness", "warning", "The loop on line {line} uses `{name}` both as the loop variable and as "
                 "the thing it loops over.", "After the loop has finished, what does `{name}` contain?"),
    "B023": Rule("correctness", "warning", "The function on line {line} uses the loop variable `{name}`, and it "
                 "will see the value `{name}` has when the function runs, not when it was created.",
                 "If the function runs after the loop has finished, which value of `{name}` does it see?"),
    "A001": Rule("style", "warning", "`{name}` (line {line}) is the name of a Python built-in.",
                 "What happens if the program needs the built-in `{name}` again later?"),
    "A002": Rule("style", "warning", "The parameter `{name}` (line {line}) hides the Python built-in of the same name.",
                 "Inside this function, how would you reach the built-in `{name}` if you needed it?"),
    "PLR1714": Rule("style", "info", "Line {line} compares one value with several others, one `or` at a time.",
                    "Is there a way to ask whether a value is one of several in a single check?"),
    "PLW0120": Rule("correctness", "warning", "The loop's `else:` on line {line} runs every time the loop ends, "
                    "because the loop has no `break`.",
                    "Did you mean this `else:` to belong to an `if` inside the loop? Check its indentation."),
    "PLR5501": Rule("style", "info", "Line {line} has an `if` directly inside an `else:`, one level deeper than it "
                    "needs to be.", "Which keyword combines `else` and `if`?"),
    "PLW2901": Rule("correctness", "warning", "Line {line} assigns to `{name}`, the variable the `for` loop sets on "
                    "every pass.", "What value does `{name}` have at the start of the next pass?"),
    "PLW0127": Rule("correctness", "warning", "Line {line} assigns `{name}` to itself, which changes nothing.",
                    "Which value did you mean to put into `{name}`?"),
    "SIM102": Rule("style", "info", "Line {line} nests one `if` directly inside another.",
                   "Could one condition with `and` say the same thing with less indentation?"),
    "SIM210": Rule("style", "info", "Line {line} turns a condition into True or False with `if`/`else`, which "
                   "gives back what the condition already is.", "What value does the condition itself have?"),
    "SIM211": Rule("style", "info", "Line {line} turns a condition into False or True with `if`/`else`.",
                   "Which operator flips True and False?"),
}

# Ruff rules the ast checks cover with a more specific message: when both fire on one line, ours wins.
SAME_AS_AST = {"F841": "ast:unused-variable", "E711": "ast:compare-singleton", "E712": "ast:compare-singleton",
               "E722": "ast:bare-except", "B006": "ast:mutable-default", "A001": "ast:shadow-builtin",
               "A002": "ast:shadow-builtin", "B015": "ast:useless-expression", "B018": "ast:useless-expression",
               "PLW2901": "ast:loop-variable-modified"}
_NAME_RE = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def ruff_binary() -> str | None:
    """The ruff executable: the one installed with this Python (a runtime dependency), else on PATH."""
    beside = Path(sys.executable).parent / "ruff"
    if beside.is_file():
        return str(beside)
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def lint(code: str) -> list[Finding] | None:
    """Learner-friendly findings from ruff, or None when ruff is missing, too slow or fails."""
    binary = ruff_binary()
    if binary is None:
        return None
    command = [binary, "check", "--stdin-filename", "learner.py", "--output-format", "json", "--no-cache",
               "--isolated", "--target-version", "py311", "--select", ",".join(RULES), "-"]
    try:
        done = subprocess.run(command, input=code, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                              env={}, cwd=tempfile.gettempdir(), check=False)
        reports = json.loads(done.stdout) if done.returncode in (0, 1) else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
    if not isinstance(reports, list):
        return None
    findings = []
    for report in reports:
        rule = RULES.get(str(report.get("code")))
        if rule is None:
            continue  # e.g. ruff's own syntax-error report: the reviewer explains syntax errors itself
        line = int((report.get("location") or {}).get("row") or 0) or None
        named = _NAME_RE.search(str(report.get("message", "")))
        values = {"name": named.group(1) if named else "this name", "line": line or "?"}
        findings.append(Finding(line, rule.category, rule.severity, rule.message.format(**values),
                                rule.question.format(**values), f"ruff:{report['code']}"))
    return findings
