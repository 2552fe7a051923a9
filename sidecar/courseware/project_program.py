"""One program from a project of several files, for graders that run "the learner's code".

A Gold project is a folder of modules, but the sandbox and the test harness run one program and
ask questions about its top-level names. `project_program` bridges the two: the program it returns
writes the project's .py files into a fresh directory of the interpreter's own filesystem (the
isolate's in-memory one in the sandbox, a temporary directory in validation), puts that directory
first on sys.path and then executes the entry module's source as the program itself. So the
exercise test helpers work unchanged: `output`, `run(stdin)` and calls of the entry module's
functions, including functions it imported from the project's other modules.

Only the standard library is used, in the generated program too: it runs inside the sandbox.
"""

from __future__ import annotations

import posixpath

MAX_PROJECT_BYTES = 200 * 1024  # all included .py files together, UTF-8
MAX_FILES = 200
# Temporary directories the program makes start with this; it removes those of earlier runs in the
# same interpreter (validation and the browser run many programs in one process).
DIR_PREFIX = "drona-project-"

# The generated program. Everything it needs lives inside one function, so the only names left in
# the program's namespace are the entry module's own (tests see them as the program's top-level
# names); `exec` without arguments at module level runs the entry in that same namespace.
_TEMPLATE = '''\
def __drona_project():
    import atexit, importlib, os, shutil, sys, tempfile
    files = {files!r}
    entry = {entry!r}
    # A fresh directory per run, and no module or path left from an earlier run of any project:
    # a cached `helpers` module of another project (or of this project's previous run) would
    # otherwise shadow this run's files.
    for folder in [p for p in sys.path if os.path.basename(p).startswith({prefix!r})]:
        sys.path.remove(folder)
        shutil.rmtree(folder, ignore_errors=True)
    # (The module's origin, not its file attribute: a program whose text names that attribute
    # gets its source written to the working directory, see harness.program_namespace.)
    for name, module in list(sys.modules.items()):
        if {prefix!r} in (getattr(getattr(module, "__spec__", None), "origin", None) or ""):
            del sys.modules[name]
    root = tempfile.mkdtemp(prefix={prefix!r})
    atexit.register(shutil.rmtree, root, True)
    for path, text in files.items():
        target = os.path.join(root, *path.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    sys.path.insert(0, root)
    # A fresh directory each run means no cached bytecode to read (the sandbox forbids marshal.loads).
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    return compile(files[entry], entry, "exec")


__drona_code = __drona_project()
del __drona_project
exec(__drona_code)
del __drona_code
'''


def normalise_path(path: str) -> str:
    """A project-relative path with forward slashes; ValueError for anything that could escape.

    Absolute paths, drive letters, `..` that leaves the project, empty names and control
    characters are refused rather than cleaned up: a path like that never comes from an honest
    project, and silently fixing it would hide what was uploaded.
    """
    if not isinstance(path, str) or not path.strip():
        raise ValueError("a file path is empty")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in path):
        raise ValueError(f"the path {path!r} contains control characters")
    text = path.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise ValueError(f"the path {path!r} is absolute; use a path inside the project")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError(f"the path {path!r} leaves the project folder")
            parts.pop()
            continue
        parts.append(part)
    if not parts:
        raise ValueError(f"the path {path!r} names no file")
    return posixpath.join(*parts)


def project_files(files: dict[str, str], entry: str) -> tuple[dict[str, str], str]:
    """The .py files the program will hold, by normalised path, and the normalised entry path.

    ValueError when a path escapes, two paths name the same file, the entry is missing or not a
    .py file, or the .py files are larger than MAX_PROJECT_BYTES together.
    """
    entry_path = normalise_path(entry)
    if not entry_path.endswith(".py"):
        raise ValueError(f"the entry module {entry!r} must be a .py file")
    kept: dict[str, str] = {}
    size = 0
    for raw, text in files.items():
        path = normalise_path(raw)
        if not path.endswith(".py"):
            continue  # README, data, tests of the learner's own: not part of the program
        if not isinstance(text, str):
            raise ValueError(f"the file {raw!r} is not text")
        if path in kept:
            raise ValueError(f"two files are both {path!r}")
        size += len(text.encode("utf-8"))
        if size > MAX_PROJECT_BYTES:
            raise ValueError(f"the project's .py files are larger than {MAX_PROJECT_BYTES // 1024} KB together")
        kept[path] = text
        if len(kept) > MAX_FILES:
            raise ValueError(f"the project has more than {MAX_FILES} .py files")
    if entry_path not in kept:
        raise ValueError(f"the project has no {entry_path} (the entry module the tests run)")
    return kept, entry_path


def project_program(files: dict[str, str], entry: str) -> str:
    """ONE Python program that writes the project's .py files and runs `entry` as the program.

    files: path -> source text (other files are ignored); entry: the module the tests exercise,
    e.g. "inventory.py". ValueError for unsafe paths, a missing entry or a project over 200 KB.
    """
    kept, entry_path = project_files(files, entry)
    return _TEMPLATE.format(files=dict(sorted(kept.items())), entry=entry_path, prefix=DIR_PREFIX)
