"""Solutions in disguise: the reference program rewritten in another language.

check_code_leak compares Python with Python. A model asked for "the answer in JavaScript", or
one that rewrites the solution as pseudo-code, produces code that doesn't parse as Python and
shares no token trigrams with it, yet hands over every step. What survives any translation is the
program's substance: its variable names, numbers and text. So for each code block that is not
Python, this check counts how much of the solution's *secret* substance (from the lines the learner
doesn't already have) the block repeats; most of it means the block is the solution, translated.

For a short solution (fewer than MIN_ATOMS secret names and values) a block must repeat every one
of them: two words alone could be a coincidence, but a non-Python block with all of them in a Python
course is the answer in disguise.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence

from sidecar.courseware.leak_verdict import NO_LEAK, LeakVerdict
from sidecar.courseware.leaks import extract_code

MIN_ATOMS = 5
COVERAGE = 0.6
MIN_SHORT = 2  # below this there is nothing to recognise
_WORD = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?")
_BUILTINS = frozenset(dir(builtins))


def _atoms_of_python(code: str) -> Counter[str]:
    atoms: Counter[str] = Counter()
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.NAME and not keyword.iskeyword(token.string) \
                    and token.string not in _BUILTINS:
                atoms[token.string.casefold()] += 1
            elif token.type == tokenize.NUMBER:
                atoms[token.string] += 1
            elif token.type == tokenize.STRING or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                atoms.update(w.casefold() for w in _WORD.findall(token.string.strip("'\"rRbBfFuU")))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return atoms


def _lines(code: str) -> set[str]:
    return {" ".join(line.split()) for line in code.splitlines() if line.strip()}


def secret_atoms(solution: str, *, starter: str = "", public: Sequence[str] = ()) -> Counter[str]:
    """Names, numbers and words of the solution's lines that the learner doesn't already have."""
    known = _lines(starter).union(*(_lines(p) for p in public))
    secret = "\n".join(line for line in solution.splitlines()
                       if line.strip() and not line.strip().startswith("#") and " ".join(line.split()) not in known)
    return _atoms_of_python(secret)


def _is_python(block: str) -> bool:
    try:
        compile(block, "<reply>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


_TAGGED = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]+)[^\n]*\n(.*?)^[ \t]*\1", re.M | re.S)
_PYTHON_TAGS = frozenset({"python", "py", "python3", "pycon", "ipython", "text", "txt", "console", "output"})


def _foreign_blocks(reply: str) -> Iterable[str]:
    """Code blocks in another language: tagged so (```javascript: `console.log('hi');` parses as
    Python), or not Python at all."""
    tagged = {m.group(3) for m in _TAGGED.finditer(reply) if m.group(2).lower() not in _PYTHON_TAGS}
    yield from (block for block in tagged if block.strip())
    for block in extract_code(reply).blocks:
        if block.strip() and block not in tagged and not _is_python(block):
            yield block


def check_translation(reply: str, solution: str, *, starter: str = "", public: Sequence[str] = ()) -> LeakVerdict:
    secret = secret_atoms(solution, starter=starter, public=public)
    size = sum(secret.values())
    if size < MIN_SHORT:
        return NO_LEAK
    needed = COVERAGE if size >= MIN_ATOMS else 1.0
    for block in _foreign_blocks(reply):
        found = Counter(w.casefold() for w in _WORD.findall(block))
        shared = sum((secret & found).values())
        if shared / size >= needed:
            return LeakVerdict(True, "translation", round(shared / size, 2),
                               f"a non-Python code block repeats {shared} of the solution's {size} names and values")
    return NO_LEAK
