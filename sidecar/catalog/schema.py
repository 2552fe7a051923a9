"""The schema of catalog.db: the one declaration the compiler writes and the sidecar reads.

`drona build` (sidecar/compiler/catalogdb.py) creates these tables with `create()` and then
inserts rows; it never lets a column be inferred. List and dict values (objectives, skills,
tests, hints, choices, rules...) are stored as JSON text, the way sqlite-utils writes them
(`json.dumps(value, default=repr, ensure_ascii=False)`); JSON_COLUMNS names them.

SCHEMA_VERSION is written into `meta` (key `schema_version`) and checked when the sidecar opens
the file (sidecar/catalog/store.py): a catalog.db built by another version of drona is refused
with a 503 that says to run `drona build`. Bump it whenever a table, column or index changes.

Version history: 1, columns inferred by sqlite-utils; 2, this explicit schema; 3, lessons.attempt_policy;
4, certification material (silver_banks, silver_items, gold_options).

`chunk_vectors` (CHUNK_VECTORS) is declared here but created only by the build's vector hook
(sidecar/compiler/vectors.py) when it has vectors to store: the retriever takes the table's
presence to mean "this catalog has vectors", and a catalog built without a model has none.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 4

# Table name -> CREATE TABLE, in the order the compiler fills them (parents before children).
TABLES: dict[str, str] = {
    "domains": """CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    slug TEXT,
    title TEXT,
    summary TEXT,
    position INTEGER NOT NULL
)""",
    "tracks": """CREATE TABLE tracks (
    id TEXT PRIMARY KEY,
    slug TEXT,
    domain TEXT,  -- a domains.slug
    title TEXT,
    summary TEXT,
    status TEXT,
    position INTEGER NOT NULL,
    url TEXT
)""",
    "courses": """CREATE TABLE courses (
    id TEXT PRIMARY KEY,
    track_id TEXT NOT NULL REFERENCES tracks(id),
    slug TEXT,
    title TEXT,
    summary TEXT,
    status TEXT,  -- active | planned
    level TEXT,
    planned_modules INTEGER,
    position INTEGER NOT NULL,
    url TEXT  -- NULL for planned courses (no page)
)""",
    "modules": """CREATE TABLE modules (
    id TEXT PRIMARY KEY,
    course_id TEXT NOT NULL REFERENCES courses(id),
    slug TEXT,
    title TEXT,
    summary TEXT,
    par_minutes INTEGER,
    position INTEGER NOT NULL,
    url TEXT
)""",
    "lessons": """CREATE TABLE lessons (
    id TEXT PRIMARY KEY,
    module_id TEXT NOT NULL REFERENCES modules(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    track_id TEXT NOT NULL REFERENCES tracks(id),
    slug TEXT,
    title TEXT,
    type TEXT,
    objectives TEXT,  -- JSON list of strings
    skills TEXT,  -- JSON list of strings
    minutes INTEGER,
    xp INTEGER,
    time_limit_minutes INTEGER,  -- challenges only
    attempt_policy TEXT,  -- challenges only: JSON object as authored (attempt-policy.schema.json), NULL: defaults
    position INTEGER NOT NULL,
    url TEXT,
    body TEXT
)""",
    "exercises": """CREATE TABLE exercises (
    id TEXT PRIMARY KEY,
    slug TEXT,
    module_id TEXT NOT NULL REFERENCES modules(id),
    lesson_id TEXT REFERENCES lessons(id),  -- NULL when no lesson places it
    title TEXT,
    prompt TEXT,
    starter TEXT,
    solution TEXT,
    time_limit_seconds REAL,
    memory_mb INTEGER,  -- 0: the sandbox's default
    randomized INTEGER,  -- 0 or 1
    visible_tests TEXT,  -- JSON list of test objects
    hidden_tests TEXT,  -- JSON list of test objects
    hints TEXT,  -- JSON list of rungs
    misconceptions TEXT,  -- JSON list
    example TEXT,
    bottom_out_attempts INTEGER,
    bottom_out_minutes REAL
)""",
    "quizzes": """CREATE TABLE quizzes (
    id TEXT PRIMARY KEY,
    slug TEXT,
    module_id TEXT NOT NULL REFERENCES modules(id),
    lesson_id TEXT REFERENCES lessons(id),
    title TEXT,
    pass_percent INTEGER
)""",
    "quiz_items": """CREATE TABLE quiz_items (
    id TEXT PRIMARY KEY,
    quiz_id TEXT NOT NULL REFERENCES quizzes(id),
    position INTEGER NOT NULL,
    kind TEXT,
    skills TEXT,  -- JSON list of strings
    prompt TEXT,
    code TEXT,
    choices TEXT,  -- JSON list, or NULL
    answer TEXT,  -- JSON
    accept TEXT,  -- JSON list of strings
    expected_output TEXT,
    explanation TEXT,
    explanation_html TEXT
)""",
    "achievements": """CREATE TABLE achievements (
    id TEXT PRIMARY KEY,
    slug TEXT,
    title TEXT,
    category TEXT,
    description TEXT,
    xp INTEGER,
    rule TEXT  -- JSON object
)""",
    "certifications": """CREATE TABLE certifications (
    id TEXT PRIMARY KEY,
    tier TEXT,
    title TEXT,
    description TEXT,
    xp INTEGER,
    rules TEXT  -- JSON object
)""",
    # A course's certification/ folder (private: answers, solutions, hidden tests, references).
    "silver_banks": """CREATE TABLE silver_banks (
    course_id TEXT PRIMARY KEY REFERENCES courses(id),
    points TEXT NOT NULL  -- JSON object: each section's points as authored (conceptual, analysis, coding, design)
)""",
    "silver_items": """CREATE TABLE silver_items (
    id TEXT PRIMARY KEY,
    course_id TEXT NOT NULL REFERENCES courses(id),
    section TEXT NOT NULL,  -- conceptual | analysis | coding | design
    kind TEXT NOT NULL,  -- mcq | predict_output | find_bug | coding | design
    difficulty INTEGER NOT NULL,  -- 1..3 (coding: easy 1, medium 2, hard 3; design 2)
    position INTEGER NOT NULL,  -- in its section, as authored
    data TEXT NOT NULL  -- JSON object: the item as authored, answers included
)""",
    "gold_options": """CREATE TABLE gold_options (
    id TEXT PRIMARY KEY,
    course_id TEXT NOT NULL REFERENCES courses(id),
    position INTEGER NOT NULL,
    title TEXT,
    summary TEXT,
    brief TEXT,  -- Markdown
    requirements TEXT,  -- JSON list of strings
    entry TEXT,  -- the module the tests exercise, e.g. inventory.py
    tests TEXT,  -- JSON list of test objects, each with a boolean `hidden`
    reference TEXT  -- JSON object: path -> source of the reference solution
)""",
    "lesson_chunks": """CREATE TABLE lesson_chunks (
    id TEXT PRIMARY KEY,  -- "<lesson id>:<position>"
    lesson_id TEXT NOT NULL REFERENCES lessons(id),
    position INTEGER NOT NULL,
    heading TEXT,
    anchor TEXT,  -- the heading's id on the lesson page; NULL for the opening text
    text TEXT
)""",
    "meta": """CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT  -- JSON
)""",
}

INDEXES: tuple[str, ...] = (
    "CREATE INDEX idx_lessons_module_id ON lessons (module_id)",
    "CREATE INDEX idx_lessons_course_id ON lessons (course_id)",
    "CREATE INDEX idx_lessons_track_id ON lessons (track_id)",
    "CREATE INDEX idx_exercises_lesson_id ON exercises (lesson_id)",
    "CREATE INDEX idx_quizzes_lesson_id ON quizzes (lesson_id)",
    "CREATE INDEX idx_quiz_items_quiz_id ON quiz_items (quiz_id)",
    "CREATE INDEX idx_lesson_chunks_lesson_id ON lesson_chunks (lesson_id)",
    "CREATE INDEX idx_silver_items_course_id ON silver_items (course_id)",
    "CREATE INDEX idx_gold_options_course_id ON gold_options (course_id)",
)

# Full-text index over lesson_chunks (external content: rowids are lesson_chunks' rowids), as
# sqlite-utils' enable_fts(["heading", "text"], tokenize="porter") made it; filled by FTS_FILL
# once the chunks are in. Searched by sidecar/catalog/chunks.py (bm25 weights heading, text).
FTS_TABLE = "lesson_chunks_fts"
FTS = "CREATE VIRTUAL TABLE lesson_chunks_fts USING FTS5 (heading, text, tokenize='porter', content='lesson_chunks')"
FTS_FILL = "INSERT INTO lesson_chunks_fts (rowid, heading, text) SELECT rowid, heading, text FROM lesson_chunks"

# Optional: created by sidecar/compiler/vectors.py only when the build stores vectors (see the
# module doc). float32 little-endian, L2-normalised; meta key `vectors` describes them.
CHUNK_VECTORS_TABLE = "chunk_vectors"
CHUNK_VECTORS = ("CREATE TABLE chunk_vectors (chunk_id TEXT PRIMARY KEY REFERENCES lesson_chunks(id), "
                 "vector BLOB NOT NULL)")

# Columns holding JSON text (lists and dicts on the Python side).
JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "lessons": ("objectives", "skills", "attempt_policy"),
    "exercises": ("visible_tests", "hidden_tests", "hints", "misconceptions"),
    "quiz_items": ("skills", "choices", "answer", "accept"),
    "achievements": ("rule",),
    "certifications": ("rules",),
    "silver_banks": ("points",),
    "silver_items": ("data",),
    "gold_options": ("requirements", "tests", "reference"),
    "meta": ("value",),
}


def create(db: Any) -> None:
    """Create every table, index and the FTS table in an empty database.

    db: a sqlite3.Connection or a sqlite_utils.Database (anything with execute()).
    """
    for statement in (*TABLES.values(), *INDEXES, FTS):
        db.execute(statement)
