"""`drona serve` as a real process: builds when needed, then serves site and API on one port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .conftest import MINIMAL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def test_serve_builds_then_serves_site_and_api(tmp_path: Path) -> None:
    port = _free_port()
    build_dir = tmp_path / "build"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar.cli", "serve", "--port", str(port), "--content", str(MINIMAL / "content"),
         "--build-dir", str(build_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait(f"http://127.0.0.1:{port}/api/health", proc)
        assert (build_dir / "catalog.db").is_file(), "serve built the catalog first"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:  # noqa: S310
            assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
            assert b"Demo Track" in response.read()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/assets/drona/drona.js",
                                         headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:  # noqa: S310
            assert response.headers["Content-Encoding"] == "gzip"
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "building" in output and "Serving Dronacharya on http://127.0.0.1:" in output
    assert "Traceback" not in output
