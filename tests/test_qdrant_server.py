"""Retrieval with QDRANT_URL (issue #18): qdrant-client's HTTP path, against a stand-in server.

No Qdrant server can be installed on the machines this suite runs on, so tests/qdrant_rest_shim.py
serves the REST calls the index makes (collection exists, create, upsert, payload index, count,
query) over qdrant-client's own in-process engine, parsing and answering with the client's own REST
models. What this checks: the index's server path end to end through the real QdrantClient(url=...)
and httpx: the digest-named collection is created and filled, a second start finds it and uploads
nothing, results equal local mode's for the same queries (with and without the course filter, which
only the server path sends as a payload filter), QDRANT_API_KEY goes out as the `api-key` header,
and a server that is unreachable, refuses the key or goes away leaves lexical search with one
warning, retried after QDRANT_RETRY_SECONDS, never an exception.

What it cannot prove, real server behaviours: the HNSW index's approximate ranking on large
collections (the shim's engine is exact, as local mode is), the payload index actually being built
and used, the server's own request validation and error bodies beyond the shapes the client models
declare, gRPC, authentication beyond a single api-key header (JWT, read-only keys), persistence,
snapshots and restarts, concurrency between several sidecars uploading at once, and wire
compatibility with a Qdrant release whose REST schema differs from this qdrant-client's.
docs/deploy.md (*Qdrant*) says how the real server is run.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from sidecar.agents.retrieval import Retriever
from sidecar.agents.retrieval import index as retrieval_index
from sidecar.catalog import chunks, store
from sidecar.compiler.build import BuildReport
from sidecar.settings import Settings
from tests.qdrant_rest_shim import QdrantShim, serving
from tests.test_retrieval import COURSE, DICE_LESSON, OTHER_COURSE, WHILE_LESSON, built  # noqa: F401 - built: fixture

QUERIES = ["how does a while loop stop?", "simulate throwing dice", "loops over dictionary keys",
           "how do loops stop", "print a value", "what is the capital of France"]
KEY = "test-api-key-0123456789"
COLLECTIONS = r"/collections/[^/]+"


def _server_settings(url: str, api_key: str | None = KEY) -> Settings:
    return Settings(EMBEDDING_MODEL="minilm", QDRANT_URL=url, QDRANT_API_KEY=api_key)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def shim() -> Iterator[tuple[QdrantShim, str]]:
    server = QdrantShim(api_key=KEY)
    with serving(server) as url:
        yield server, url


@pytest.fixture(scope="module")
def remote(built: tuple[BuildReport, list[str]], shim: tuple[QdrantShim, str]) -> Retriever:  # noqa: F811
    return Retriever(built[0].catalog_db, _server_settings(shim[1]))


@pytest.fixture(scope="module")
def local(built: tuple[BuildReport, list[str]]) -> Retriever:  # noqa: F811
    return Retriever(built[0].catalog_db, Settings(EMBEDDING_MODEL="minilm"))


def test_the_index_creates_and_fills_the_digest_named_collection(
        built: tuple[BuildReport, list[str]], shim: tuple[QdrantShim, str], remote: Retriever) -> None:  # noqa: F811
    server, _url = shim
    assert remote.dense is not None and remote.dense.server
    with store.open_readonly(built[0].catalog_db) as db:
        info = chunks.vectors_info(db)
        rows = len(chunks.vectors(db))
    assert info is not None
    name = f"drona_chunks_{info['digest'][:16]}"
    assert remote.dense.collection == name
    assert server.engine.collection_exists(name)
    assert server.engine.count(name, exact=True).count == rows > 0
    assert server.count("PUT", f"/collections/{name}") == 1
    assert server.count("PUT", f"/collections/{name}/points") >= 1
    assert server.count("PUT", f"/collections/{name}/index") == 1  # the course filter's payload index
    # Payloads are stored on the server: chunk and course ids, for its filter.
    point = server.engine.retrieve(name, [0], with_payload=True)[0]
    assert set(point.payload or {}) == {"chunk_id", "course_id"}


@pytest.mark.parametrize("course_id", [None, COURSE, OTHER_COURSE])
def test_server_results_equal_local_mode(remote: Retriever, local: Retriever, course_id: str | None) -> None:
    assert remote.dense is not None and local.dense is not None and remote.embedder is not None
    for query in QUERIES:
        assert remote.search(query, k=5, course_id=course_id) == local.search(query, k=5, course_id=course_id), query
        vector = remote.embedder.embed([query])[0]
        assert remote.dense.search(vector, 20, course_id) == local.dense.search(vector, 20, course_id), query
    if course_id is None:  # a paraphrase only the dense side finds, through the server
        assert remote.search("simulate throwing dice", k=3)[0].chunk_id == f"{DICE_LESSON}:0"


def test_a_second_start_reuses_the_collection_without_uploading(
        built: tuple[BuildReport, list[str]], shim: tuple[QdrantShim, str], remote: Retriever) -> None:  # noqa: F811
    server, url = shim
    before = len(server.requests)
    again = Retriever(built[0].catalog_db, _server_settings(url))
    assert again.dense is not None and again.dense.collection == remote.dense.collection  # type: ignore[union-attr]
    new = server.requests[before:]
    assert [(r.method, r.path) for r in new if r.method in ("PUT", "DELETE")] == [], "nothing created or uploaded"
    assert [r.path.rsplit("/", 1)[-1] for r in new if r.path != "/"] == ["exists", "count"]
    assert again.search("simulate throwing dice", k=1)[0].chunk_id == f"{DICE_LESSON}:0"


def test_the_api_key_is_sent_as_the_api_key_header(shim: tuple[QdrantShim, str], remote: Retriever) -> None:
    server, _url = shim
    remote.search("how do loops stop")
    seen = [r for r in server.requests if r.path.startswith("/collections/")]
    assert seen and all(r.headers.get("api-key") == KEY for r in seen)
    assert all("authorization" not in r.headers for r in seen)  # the key, not a bearer token


def test_a_refused_key_leaves_lexical_search(built: tuple[BuildReport, list[str]],  # noqa: F811
                                             shim: tuple[QdrantShim, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    wrong = Retriever(built[0].catalog_db, _server_settings(shim[1], api_key="not-the-key"))
    assert wrong.dense is None
    assert "Qdrant unavailable (UnexpectedResponse)" in caplog.text
    assert wrong.search("how does a while loop stop?")[0].lesson_id == WHILE_LESSON
    assert wrong.search("simulate throwing dice") == []  # no dense side


def test_an_unreachable_server_falls_back_to_lexical_and_is_retried(
        built: tuple[BuildReport, list[str]], local: Retriever, caplog: pytest.LogCaptureFixture,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.WARNING, logger="sidecar.agents.retrieval.index")
    monkeypatch.setattr(retrieval_index, "QDRANT_RETRY_SECONDS", 0)  # retry at the next search, not in 60 s
    port = _free_port()  # nothing listens there yet
    down = Retriever(built[0].catalog_db, _server_settings(f"http://127.0.0.1:{port}", api_key=None))
    assert down.dense is None
    assert caplog.text.count("Qdrant unavailable") == 1
    for _ in range(2):  # searches answer lexically, the warning is not repeated
        assert down.search("how does a while loop stop?")[0].lesson_id == WHILE_LESSON
        assert down.search("simulate throwing dice") == []
    assert caplog.text.count("Qdrant unavailable") == 1
    # The server comes up on that address: the next search loads the vectors and uses them.
    server = QdrantShim()
    with serving(server, port):
        hit = down.search("simulate throwing dice", k=3)
        assert down.dense is not None and hit[0].chunk_id == f"{DICE_LESSON}:0"
        assert server.count("PUT", f"{COLLECTIONS}/points") >= 1
        assert down.search("how do loops stop") == local.search("how do loops stop")
    # ...and goes away again: lexical results, one warning, no exception.
    caplog.clear()
    results: Any = [down.search("how does a while loop stop?") for _ in range(2)]
    assert all(r and r[0].lesson_id == WHILE_LESSON for r in results)
    assert caplog.text.count("dense search failed") == 1
