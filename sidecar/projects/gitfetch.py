"""Gold projects from a git URL: off by default, because fetching a URL from the server is a
server-side request risk (ALLOW_GIT_SUBMISSIONS, GIT_SUBMISSION_HOSTS).

When on, only `git://` and `https://` URLs to an allowed host (`host` or `host:port`) are fetched,
with no credentials in them; `git clone --depth 1` runs in a subprocess with a timeout and a
watch on the clone's size, an empty configuration (no system or user config, no credential
helpers, no prompts, no redirects, no hooks, no symlinks, no submodules, only the two protocols),
into a scratch folder that is removed afterwards. The tree is then read with the archive's limits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from sidecar.errors import InvalidInput, Unavailable
from sidecar.settings import Settings

from .archive import Limits, check_tree, normalise

TIMEOUT_SECONDS = 60.0
SCHEMES = ("git", "https")
DEFAULT_PORTS = {"git": 9418, "https": 443}
_CONFIG = ("protocol.allow=never", "protocol.git.allow=always", "protocol.https.allow=always",
           "http.followRedirects=false", "credential.helper=", "core.askPass=", "core.symlinks=false",
           "core.hooksPath=/dev/null", "submodule.recurse=false", "transfer.fsckObjects=true",
           "core.fsmonitor=false", "filter.lfs.required=false", "filter.lfs.smudge=", "filter.lfs.process=")


def check_url(url: str, settings: Settings) -> str:
    """The URL when this server may fetch it; InvalidInput (422) saying why not otherwise."""
    if not settings.ALLOW_GIT_SUBMISSIONS:
        raise InvalidInput("Git URLs are turned off on this server: upload the project as a .zip archive "
                           "(an administrator can allow them with ALLOW_GIT_SUBMISSIONS).")
    text = url.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise InvalidInput("The git URL holds spaces or control characters.")
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES:
        raise InvalidInput("Only git:// and https:// URLs can be fetched.")
    if parts.username or parts.password or "@" in parts.netloc:
        raise InvalidInput("The git URL must not carry credentials: the project must be public.")
    if parts.query or parts.fragment:
        raise InvalidInput("The git URL must not have a query or a fragment.")
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput("The git URL's port is not a number.") from None
    host = (parts.hostname or "").lower()
    if not host or not parts.path.strip("/"):
        raise InvalidInput("The git URL needs a host and a repository path.")
    allowed = set(settings.GIT_SUBMISSION_HOSTS)
    with_port = f"{host}:{port or DEFAULT_PORTS[parts.scheme]}"
    # "host" allows the protocol's default port only; "host:port" allows exactly that port.
    if with_port not in allowed and not (host in allowed and port in (None, DEFAULT_PORTS[parts.scheme])):
        raise InvalidInput(f"This server does not fetch from {parts.netloc}.",
                           {"allowed_hosts": sorted(allowed)})
    return text


def _size(folder: Path) -> tuple[int, int]:
    total = count = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
            count += 1
    return total, count


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # git starts helpers (remote-https): end them all
    process.wait()


def clone(url: str, limits: Limits, *, timeout: float = TIMEOUT_SECONDS) -> dict[str, bytes]:
    """The files of the repository's default branch at its latest commit (see the module's doc)."""
    git = shutil.which("git")
    if git is None:
        raise Unavailable("git is not installed on this server; upload the project as a .zip archive.")
    scratch = Path(tempfile.mkdtemp(prefix="drona-gold-"))
    target = scratch / "repo"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(scratch), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true",
           "GIT_LFS_SKIP_SMUDGE": "1", "LC_ALL": "C"}
    command = [git, *(arg for pair in _CONFIG for arg in ("-c", pair)), "clone", "--depth", "1", "--no-tags",
               "--single-branch", "--template=", "--quiet", "--", url, str(target)]
    try:
        # stderr to a file, not a pipe: a pipe nobody reads while we poll could fill and stall git.
        with (scratch / "git-errors.txt").open("w+b") as errors:
            process = subprocess.Popen(command, env=env, cwd=scratch, stdin=subprocess.DEVNULL,  # noqa: S603
                                       stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
            _watch(process, scratch, limits, timeout)
            errors.seek(0)
            message = errors.read(4000).decode("utf-8", errors="replace").strip().splitlines()
        if process.returncode != 0:
            last = message[-1] if message else "git failed"
            raise InvalidInput(f"The repository could not be fetched: {last[:300]}")
        return _read_tree(target, limits)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _watch(process: subprocess.Popen[bytes], scratch: Path, limits: Limits, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    budget = limits.unpacked_bytes * 2  # the clone holds the packed history beside the checkout
    while process.poll() is None:
        if time.monotonic() > deadline:
            _stop(process)
            raise InvalidInput(f"Fetching the repository took longer than {timeout:g} seconds.")
        if _size(scratch)[0] > budget:
            _stop(process)
            raise InvalidInput(f"The repository is larger than {limits.unpacked_bytes // (1024 * 1024)} MB.")
        time.sleep(0.1)


def _read_tree(root: Path, limits: Limits) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            full = Path(folder) / name
            if full.is_symlink() or not full.is_file():
                continue  # core.symlinks=false checks links out as files; anything else is skipped
            path = normalise(full.relative_to(root).as_posix())
            if path is None:
                continue
            data = full.read_bytes()
            total += len(data)
            if len(files) >= limits.files or total > limits.unpacked_bytes:
                check_tree({**files, path: data}, limits)  # raises with the limit that was passed
            files[path] = data
    check_tree(files, limits)
    return files
