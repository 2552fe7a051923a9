"""Live reload for `drona serve --watch`: pages reload when a rebuild finishes, and show build problems.

The server adds one small script to every HTML page it sends (only in watch mode; the built
files are never changed). The script listens on a Server-Sent Events stream: `reload` after a
successful rebuild, `problems` with `path:line: message` lines when a rebuild failed (shown in a
banner until the next good build). Each `hello` carries the server's generation, so a page that
reconnects after a restart or a missed rebuild reloads too.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

EVENTS_PATH = "/__drona/livereload"
SCRIPT_PATH = "/__drona/livereload.js"
SNIPPET = f'<script src="{SCRIPT_PATH}" defer></script>'.encode()
HEARTBEAT_SECONDS = 15.0

SCRIPT = """(() => {
  if (window.__dronaLiveReload) return;
  window.__dronaLiveReload = true;
  let generation = null;
  const banner = document.createElement("div");
  banner.setAttribute("role", "alert");
  banner.style.cssText = "position:fixed;left:0;right:0;bottom:0;z-index:10000;max-height:40vh;overflow:auto;" +
    "margin:0;padding:.75rem 1rem;background:#7f1d1d;color:#fff;font:13px/1.5 ui-monospace,monospace;" +
    "white-space:pre-wrap;display:none";
  const show = (problems) => {
    if (!document.body.contains(banner)) document.body.appendChild(banner);
    banner.textContent = problems && problems.length
      ? "drona: the last save did not build\\n" + problems.join("\\n") : "";
    banner.style.display = problems && problems.length ? "block" : "none";
  };
  const source = new EventSource("@@EVENTS@@");
  source.addEventListener("hello", (event) => {
    const data = JSON.parse(event.data);
    if (generation !== null && data.generation !== generation) location.reload();
    generation = data.generation;
    show(data.problems);
  });
  source.addEventListener("reload", (event) => {
    generation = JSON.parse(event.data).generation;
    location.reload();
  });
  source.addEventListener("problems", (event) => show(JSON.parse(event.data).problems));
})();
""".replace("@@EVENTS@@", EVENTS_PATH)


class LiveReload:
    """Publishes build results from the watcher's thread to every open page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[tuple[str, dict[str, Any]]]]] = set()
        # Unique per server process, so pages reload after a restart.
        self.generation = int(time.time() * 1000)
        self.problems: list[str] = []

    def built(self) -> None:
        """A rebuild succeeded: every page reloads."""
        with self._lock:
            self.generation += 1
            self.problems = []
            event = ("reload", {"generation": self.generation})
        self._publish(event)

    def failed(self, problems: list[str]) -> None:
        """A rebuild failed: pages keep the last good build and show the problems."""
        with self._lock:
            self.problems = list(problems)
            event = ("problems", {"problems": self.problems})
        self._publish(event)

    def _publish(self, event: tuple[str, dict[str, Any]]) -> None:
        with self._lock:
            clients = list(self._clients)
        for loop, queue in clients:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # that page's loop has closed
                with self._lock:
                    self._clients.discard((loop, queue))

    @property
    def client_count(self) -> int:
        with self._lock:
            return len(self._clients)

    async def _events(self, request: Request) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        client = (loop, queue)
        with self._lock:
            self._clients.add(client)
            hello = {"generation": self.generation, "problems": self.problems}
        try:
            yield _sse("hello", hello)
            while not await request.is_disconnected():
                try:
                    name, data = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield _sse(name, data)
        finally:
            with self._lock:
                self._clients.discard(client)

    def events_response(self, request: Request) -> Response:
        return StreamingResponse(self._events(request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @staticmethod
    def script_response() -> Response:
        return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-store"})


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def inject(html: bytes) -> bytes:
    """The page with the live-reload script before </body> (or at the end)."""
    index = html.rfind(b"</body>")
    return html + SNIPPET if index < 0 else html[:index] + SNIPPET + html[index:]
