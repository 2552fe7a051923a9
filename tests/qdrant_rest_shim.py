"""A stand-in Qdrant server for tests: the subset of Qdrant's REST API that sidecar/agents/retrieval/index.py
uses, over qdrant-client's own in-process engine (QdrantLocal, the engine of its local mode).

No Qdrant server can be installed here (tests/test_qdrant_server.py says what this cannot prove).
Request bodies are parsed, and answers built, with qdrant_client.http.models: the REST models the
client itself serialises requests with and parses answers into, so a shape the client would not
send or accept fails here as it would against a server. Every request is recorded (method, path,
headers) so a test can count uploads and check the api-key header.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, TypeAdapter, ValidationError
from qdrant_client.http import models
from qdrant_client.local.qdrant_local import QdrantLocal

_COLLECTION = r"/collections/(?P<name>[A-Za-z0-9_.-]+)"
_INSERT = TypeAdapter(models.PointInsertOperations)
_QUERY_CLASSES = (models.NearestQuery,)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class QdrantShim:
    """The engine, the expected api key (None: none needed) and the requests seen."""

    api_key: str | None = None
    engine: QdrantLocal = field(default_factory=lambda: QdrantLocal(location=":memory:"))
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: set[socket.socket] = field(default_factory=set)

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for r in self.requests if r.method == method and re.fullmatch(pattern, r.path))

    # ---- routes: (method, path regex) -> handler(name, body) -> (status, response model) ----------

    def routes(self) -> list[tuple[str, str, Callable[[str, Any], BaseModel]]]:
        return [
            ("GET", rf"{_COLLECTION}/exists", self._exists),
            ("PUT", _COLLECTION, self._create),
            ("PUT", rf"{_COLLECTION}/points", self._upsert),
            ("PUT", rf"{_COLLECTION}/index", self._index),
            ("POST", rf"{_COLLECTION}/points/count", self._count),
            ("POST", rf"{_COLLECTION}/points/query", self._query),
        ]

    def _exists(self, name: str, _body: Any) -> BaseModel:
        return models.InlineResponse2009(status="ok", time=0.0, result=models.CollectionExistence(
            exists=self.engine.collection_exists(name)))

    def _create(self, name: str, body: Any) -> BaseModel:
        request = models.CreateCollection.model_validate(body)
        if self.engine.collection_exists(name):
            raise _HttpError(409, f"Wrong input: Collection `{name}` already exists!")
        self.engine.create_collection(name, vectors_config=request.vectors)
        return models.InlineResponse2001(status="ok", time=0.0, result=True)

    def _upsert(self, name: str, body: Any) -> BaseModel:
        operation = _INSERT.validate_python(body)
        self._need(name)
        points: Any = operation.batch if isinstance(operation, models.PointsBatch) else operation.points
        result = self.engine.upsert(name, points=points)
        return models.InlineResponse2008(status="ok", time=0.0, result=result)

    def _index(self, name: str, body: Any) -> BaseModel:
        request = models.CreateFieldIndex.model_validate(body)
        self._need(name)
        result = self.engine.create_payload_index(name, request.field_name,
                                                  field_schema=request.field_schema)
        return models.InlineResponse2008(status="ok", time=0.0, result=result)

    def _count(self, name: str, body: Any) -> BaseModel:
        request = models.CountRequest.model_validate(body)
        self._need(name)
        result = self.engine.count(name, count_filter=request.filter, exact=request.exact is not False)
        return models.InlineResponse20020(status="ok", time=0.0, result=result)

    def _query(self, name: str, body: Any) -> BaseModel:
        request = models.QueryRequest.model_validate(body)
        self._need(name)
        if not isinstance(request.query, _QUERY_CLASSES):
            raise _HttpError(400, f"the shim answers nearest-vector queries only, not {type(request.query).__name__}")
        result = self.engine.query_points(
            name, query=request.query, query_filter=request.filter, limit=request.limit or 10,
            offset=request.offset, with_payload=request.with_payload if request.with_payload is not None else False,
            with_vectors=request.with_vector or False, score_threshold=request.score_threshold)
        return models.InlineResponse20022(status="ok", time=0.0, result=result)

    def _need(self, name: str) -> None:
        if not self.engine.collection_exists(name):
            raise _HttpError(404, f"Not found: Collection `{name}` doesn't exist!")

    # ---- HTTP ----------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        path = urlsplit(target).path.rstrip("/") or "/"
        with self.lock:  # QdrantLocal is not thread-safe; a server would serialise per shard
            self.requests.append(Request(method, path, headers))
            if self.api_key is not None and headers.get("api-key") != self.api_key:
                return 401, {"status": {"error": "Must provide an API key or an Authorization bearer token"},
                             "time": 0.0}
            if method == "GET" and path == "/":
                return 200, {"title": "qdrant - vector search engine (test shim)", "version": version("qdrant-client")}
            for route_method, pattern, handler in self.routes():
                match = re.fullmatch(pattern, path)
                if match and route_method == method:
                    try:
                        body = json.loads(raw) if raw else None
                        answer = handler(match["name"], body)
                    except _HttpError as exc:
                        return exc.status, {"status": {"error": exc.message}, "time": 0.0}
                    except (ValidationError, ValueError) as exc:
                        return 400, {"status": {"error": f"Format error in JSON body: {exc}"}, "time": 0.0}
                    return 200, answer.model_dump(mode="json", exclude_none=True)
            return 404, {"status": {"error": f"the shim has no route for {method} {path}"}, "time": 0.0}


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _handler(shim: QdrantShim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as qdrant-client's httpx pool expects of a server

        def setup(self) -> None:
            super().setup()
            with shim.lock:
                shim.connections.add(self.connection)

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = shim.handle(self.command, self.path, headers, raw)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler


@contextmanager
def serving(shim: QdrantShim, port: int = 0) -> Iterator[str]:
    """Serve the shim on 127.0.0.1 (a free port unless given) in a thread; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(shim))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        with shim.lock:  # kept-alive connections too: a stopped server answers nothing more
            for conn in shim.connections:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            shim.connections.clear()
        thread.join(timeout=10)
