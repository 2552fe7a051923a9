"""One Settings object, read from the environment (and an optional .env file).

Names follow the design's Appendix A where they exist. Outside local development, placeholder
secrets are refused at start-up rather than discovered in production. Folder defaults are in the
project: the content repository around the working directory (sidecar/project.py), else the
working directory itself; never the folder the engine is installed in.
"""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sidecar.project import project_root

# The engine's source checkout (tests and benchmarks use its demo content). The engine's own files
# are found through sidecar/engine.py, which also works for an installed wheel.
REPO_ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_SECRET = "change-me"  # noqa: S105 - the value refused outside local dev


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    DRONA_ENV: Literal["local", "production"] = Field(
        "local", description="`local` for development and the embedded default; `production` enforces secrets.")
    DRONA_HOST: str = Field("127.0.0.1", description="Address `drona serve` listens on.")
    DRONA_PORT: int = Field(8000, ge=1, le=65535, description="Port `drona serve` listens on.")
    DRONA_CONTENT_DIR: Path = Field(default_factory=lambda: project_root() / "content",
                                    description="Folder holding the course content.")
    DRONA_BUILD_DIR: Path = Field(
        default_factory=lambda: project_root() / "build",
        description="Where `drona build` writes site/ and catalog.db, and `serve` reads them.")
    SECRET_KEY: str = Field(
        PLACEHOLDER_SECRET, description="Signs sessions and tokens. Must be set to a long random value in production.")
    APP_URL: str = Field("http://127.0.0.1:8000", description="Public base URL of the site, used in links.")
    DATABASE_URL: str = Field(
        default_factory=lambda: f"sqlite:///{project_root() / 'data' / 'drona.db'}",
        description="Learner database: sqlite:///path (embedded default) or postgresql://user:pass@host/db.")
    DRONA_THREADS: int = Field(8, ge=1, le=200, description="Worker threads per sidecar process for blocking work.")
    DATABASE_POOL_SIZE: int = Field(5, ge=1, le=200, description="Connections kept open per sidecar process.")
    DRONA_DATA_DIR: Path = Field(default_factory=lambda: project_root() / "data",
                                 description="Learner data outside the database: the outbox.")
    GRADING_WORKERS: int = Field(2, ge=1, le=64, description="Submissions graded at once per sidecar process "
                                 "(sandbox host processes; about one per CPU core).")
    GRADING_QUEUE_PER_LEARNER: int = Field(2, ge=0, le=20, description="Submissions a learner may have waiting "
                                           "behind their running one; more get 429 with Retry-After.")
    GRADING_QUEUE_PER_WORKER: int = Field(4, ge=1, le=100, description="Submissions waiting overall, per grading "
                                          "worker; beyond that new ones get 429 with Retry-After.")
    GRADER_QUEUE_URL: str | None = Field(None, description="Redis URL of the grader fleet's queue (Dramatiq), e.g. "
                                         "`redis://127.0.0.1:6379/1`: submissions are graded by `drona grader` "
                                         "processes and the sidecar runs no sandbox. Unset: graded in process.")
    GRADER_QUEUE_NAME: str = Field("drona-grading", pattern=r"^[A-Za-z0-9_-]{1,64}$",
                                   description="The fleet's queue name (and its Redis key prefix).")
    GRADER_QUEUE_MAX: int = Field(200, ge=1, le=100_000, description="Submissions waiting in the fleet's queue; "
                                  "at this depth new ones get 429 with Retry-After.")
    GRADER_THREADS: int = Field(2, ge=1, le=64, description="Submissions one `drona grader` grades at once "
                                "(its sandbox pool's size).")
    GRADER_HEARTBEAT_SECONDS: float = Field(60.0, ge=1, le=3600, description="A grader silent this long is "
                                            "taken for dead and its unfinished submissions are redelivered.")
    GRADER_MAX_RETRIES: int = Field(2, ge=0, le=20, description="Redeliveries of a submission whose grading "
                                    "failed (not the learner's code: the grader's) before it is dead-lettered.")
    GRADER_WAIT_SECONDS: float = Field(60.0, ge=1, le=600, description="How long a submission request waits "
                                       "for the fleet's verdict before answering 503 still_grading (the same "
                                       "submission_id then waits again).")
    GRADER_METRICS_PORT: int | None = Field(None, ge=1, le=65535, description="`drona grader` serves Prometheus "
                                            "metrics on this port (no token: counts only). Unset: none.")
    GRADER_METRICS_HOST: str = Field("127.0.0.1", description="Address GRADER_METRICS_PORT binds: 0.0.0.0 for "
                                     "a scraper on another host (a pod's IP).")
    ENABLE_GAMIFICATION: bool = Field(True, description="false turns XP, levels, streaks, badges and boards off.")
    SESSION_DAYS: int = Field(30, ge=1, le=365, description="How long a sign-in lasts without activity.")
    LOGIN_MAX_FAILURES: int = Field(5, ge=1, description="Failed sign-ins per account in LOGIN_WINDOW_SECONDS "
                                    "before each further attempt must wait (exponential back-off).")
    LOGIN_WINDOW_SECONDS: int = Field(900, ge=1, description="Window in which failed sign-ins count.")
    LOGIN_BACKOFF_MAX_SECONDS: int = Field(300, ge=1, description="Longest wait the per-account back-off imposes "
                                           "between password attempts; the emailed sign-in link always works.")
    TRUSTED_PROXIES: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Reverse proxies (IP addresses or CIDR networks, JSON list or comma-"
        "separated) whose X-Forwarded-For is believed for the client address. Empty: the socket peer's address.")
    SMTP_HOST: str | None = Field(None, description="SMTP server for email; unset: emails go to the log and outbox.")
    SMTP_PORT: int = Field(587, description="SMTP port (STARTTLS).")
    SMTP_USER: str | None = Field(None, description="SMTP user name.")
    SMTP_PASSWORD: str | None = Field(None, description="SMTP password (never logged).")
    SMTP_FROM: str = Field("Dronacharya <no-reply@localhost>", description="Sender address of emails.")
    JOBS_IN_SERVE: bool = Field(True, description="Run the scheduled jobs (digests, summaries, reports) inside "
                                "`drona serve`, checking once a minute. false when a cron job or Kubernetes CronJob "
                                "runs `drona jobs run` instead; each job runs once per period either way.")
    # --- The learning record (issue 17) -------------------------------------------------------------
    LRS_URL: str | None = Field(None, description="An external Learning Record Store to forward every xAPI "
                                "statement to, e.g. `https://lrs.example.com` (statements go to "
                                "`{LRS_URL}/xAPI/statements`). Unset (default): statements stay in the database.")
    LRS_USERNAME: str | None = Field(None, description="HTTP basic-auth user name for LRS_URL.")
    LRS_PASSWORD: SecretStr | None = Field(None, description="HTTP basic-auth password for LRS_URL (never logged "
                                           "or returned).")
    # --- AI tutoring (issue 5) ---------------------------------------------------------------------
    AI_MODEL: str | None = Field(None, description="Default LiteLLM model for every agent, e.g. "
                                 "`anthropic/claude-sonnet-4-5`, `openai/gpt-5` or `ollama/qwen2.5:7b`. Unset: the "
                                 "agents follow the built-in offline teaching policy.")
    AI_AGENT_MODELS: dict[str, str] = Field(
        default_factory=dict, description="Per-agent model overrides as JSON, e.g. "
        '`{"reviewer": "openai/gpt-5"}`; agents: tutor, assessor, reviewer, mentor, project_guide, quiz_generator.')
    AI_FALLBACK_MODELS: list[str] = Field(
        default_factory=list,
        description='Models tried in order when the first fails, as JSON: `["ollama/qwen2.5:7b"]`.')
    AI_API_BASE: str | None = Field(None, description="Base URL for the model server, e.g. `http://127.0.0.1:11434` "
                                    "for Ollama or a vLLM OpenAI-compatible endpoint. Provider keys come from their "
                                    "usual variables (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, ...) and are never "
                                    "logged or returned.")
    AI_TIMEOUT_SECONDS: float = Field(60.0, gt=0, description="Longest wait for one model reply before the "
                                      "offline policy answers instead.")
    MAX_AI_REQUESTS_PER_MINUTE: int = Field(30, ge=1, description="Tutor requests per learner per minute; shared "
                                            "across sidecar processes when REDIS_URL is set.")
    REDIS_URL: str | None = Field(None, description="Redis for state shared by several sidecar processes (the AI "
                                  "rate limit, live XP and achievement events over pub/sub, the cap on open live "
                                  "streams), e.g. `redis://127.0.0.1:6379/0`. Unset: kept in process. Required by "
                                  "`drona serve --workers` above 1.")
    QDRANT_URL: str | None = Field(None, description="Qdrant server for lesson vectors, e.g. `http://127.0.0.1:6333`. "
                                   "Unset: qdrant-client's local mode in process.")
    QDRANT_API_KEY: str | None = Field(None, description="API key for QDRANT_URL, if the server needs one.")
    EMBEDDING_MODEL: str = Field("minilm", description="Dense retrieval: `minilm` (bundled all-MiniLM-L6-v2, "
                                 "offline), `none` (lexical search only), or a LiteLLM embedding model such as "
                                 "`ollama/nomic-embed-text`.")
    DRONA_TEST_CLOCK: bool = Field(False, description="Local development and end-to-end tests only: enables "
                                   "`POST /api/test/clock`, which moves the server's clock (challenge deadlines, "
                                   "cool-downs, streak days). Refused at start-up unless DRONA_ENV is `local`.")
    DRONA_EMBED_CACHE: str = Field("", description="File that keeps lesson-chunk vectors between builds "
                                   "(`off` disables it). Empty: `embeddings.db` in the engine's cache folder.")
    # --- Certificates (issue 14) -------------------------------------------------------------------
    ISSUER_NAME: str = Field("Dronacharya", description="The issuer's name on certificates and in Open Badges "
                             "credentials (the issuer profile at `/api/issuer`).")
    ISSUER_KEY_PASSPHRASE: str | None = Field(
        None, description="Encrypts the issuer's Ed25519 signing keys, kept in the learner database. Unset: "
        "derived from SECRET_KEY. Never logged or returned.")
    TIMESTAMP_AUTHORITY_URL: str | None = Field(
        None, description="RFC 3161 timestamp authority that anchors each signed tree head of the transparency "
        "log, e.g. `https://freetsa.org/tsr`. Unset (default): no anchoring.")
    ENABLE_AI_PROCTORING: bool = Field(False, description="Silver assessments add in-browser camera checks, only "
                                       "with the learner's explicit consent; only events leave the browser, never "
                                       "images.")
    ASSESSMENT_GRACE_SECONDS: int = Field(5, ge=0, le=120, description="Network grace after a Silver section's "
                                          "server deadline during which a saved answer is still accepted.")
    GOLD_UPLOAD_MAX_MB: int = Field(10, ge=1, le=200, description="Largest Gold project archive accepted "
                                    "(a .zip), in MB; unpacked, it may be at most 5 times this.")
    ALLOW_GIT_SUBMISSIONS: bool = Field(False, description="Gold projects may also be submitted as a git URL, "
                                        "fetched by the server. Off by default: fetching a URL from the server is a "
                                        "server-side request risk. Only `git://` and `https://` URLs "
                                        "to hosts in GIT_SUBMISSION_HOSTS are fetched.")
    GIT_SUBMISSION_HOSTS: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Hosts (host or host:port, JSON list or comma-separated) Gold git URLs "
        "may point to when ALLOW_GIT_SUBMISSIONS is on.")
    ANALYTICS_K: int = Field(5, ge=2, le=1000, description="k-anonymity of the analytics dashboards: team and "
                             "organisation aggregates over fewer than k people are suppressed.")
    LEARNER_MODEL_PARAMS: Path | None = Field(
        None, description="Parameters of the learner model (a JSON file written by `drona learner-model fit`) "
        "for the tutor's and the Assessor's skill estimates; unset: the bundled defaults.")
    # --- Observability (issue 18, design §15.5; docs/observability.md) ---------------------------
    METRICS_TOKEN: SecretStr | None = Field(
        None, description="Bearer token that `GET /metrics` (Prometheus) requires: `Authorization: Bearer <token>`. "
        "Unset (default): /metrics answers 404. At least 16 characters, and not the placeholder, outside local "
        "development. Never logged or returned.")
    LOG_FORMAT: Literal["text", "json"] = Field("text", description="`text` (default) or `json`: one JSON object "
                                                "per log line, each with the request id of the request it belongs "
                                                "to (also sent back as `X-Request-ID`).")
    OTEL_EXPORTER_OTLP_ENDPOINT: str | None = Field(
        None, description="OpenTelemetry collector base URL, e.g. `http://otel-collector:4318`: a server span per "
        "request is exported over OTLP/HTTP to `{endpoint}/v1/traces`. Unset (default): no tracing.")
    OTEL_SERVICE_NAME: str = Field("drona-sidecar", description="The `service.name` of the exported spans.")
    SENTRY_DSN: SecretStr | None = Field(None, description="Sentry (or a Sentry-compatible server such as GlitchTip) "
                                         "DSN for unhandled errors; sent without cookies, authorization headers, "
                                         "request bodies or other personal data. Unset (default): off.")

    @property
    def secure_cookies(self) -> bool:
        # Secure cookies everywhere except plain-http localhost development.
        return self.APP_URL.startswith("https://") or self.DRONA_ENV != "local"

    @property
    def site_dir(self) -> Path:
        return self.DRONA_BUILD_DIR / "site"

    @property
    def catalog_db(self) -> Path:
        return self.DRONA_BUILD_DIR / "catalog.db"

    @field_validator("LEARNER_MODEL_PARAMS")
    @classmethod
    def _learner_model_params_exist(cls, value: Path | None) -> Path | None:
        # A typo must stop the start-up, not fail the first tutor turn.
        if value is not None and not value.is_file():
            raise ValueError(f"LEARNER_MODEL_PARAMS: no such file: {value}")
        return value

    @field_validator("GIT_SUBMISSION_HOSTS", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p for p in text.replace(",", " ").split() if p]
        if isinstance(value, list):
            return [str(entry).strip().lower() for entry in value]
        return value

    @field_validator("TRUSTED_PROXIES", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        # The environment gives a string: a JSON list, or the friendlier "10.0.0.1, 10.1.0.0/16".
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p for p in text.replace(",", " ").split() if p]
        if isinstance(value, list):
            for entry in value:
                # A typo must stop the start-up, not silently trust nobody (or everybody).
                ipaddress.ip_network(str(entry).strip(), strict=False)
            return [str(entry).strip() for entry in value]
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.DRONA_ENV != "local" and (self.SECRET_KEY == PLACEHOLDER_SECRET or len(self.SECRET_KEY) < 32):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters when DRONA_ENV is "
                "not 'local' (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        if self.DRONA_ENV != "local" and self.DRONA_TEST_CLOCK:
            # A movable clock would let anyone reopen deadlines and cool-downs: never outside local.
            raise ValueError("DRONA_TEST_CLOCK is for local development and tests only: it is refused when "
                             "DRONA_ENV is not 'local'")
        token = self.METRICS_TOKEN.get_secret_value() if self.METRICS_TOKEN is not None else None
        if self.DRONA_ENV != "local" and token is not None and (token == PLACEHOLDER_SECRET or len(token) < 16):
            raise ValueError("METRICS_TOKEN must be a random value of at least 16 characters when DRONA_ENV is not "
                             "'local' (or unset, which turns /metrics off)")
        return self


def env_file() -> Path:
    """The .env file read with the environment: the project's."""
    return project_root() / ".env"


@lru_cache
def get_settings() -> Settings:
    return Settings(_env_file=env_file())
