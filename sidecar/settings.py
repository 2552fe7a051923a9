"""One Settings object, read from the environment (and an optional .env file).

Names follow the design's Appendix A where they exist. Outside local development, placeholder
secrets are refused at start-up rather than discovered in production.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_SECRET = "change-me"  # noqa: S105 - the value refused outside local dev


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    DRONA_ENV: Literal["local", "production"] = Field(
        "local", description="`local` for development and the embedded default; `production` enforces secrets.")
    DRONA_HOST: str = Field("127.0.0.1", description="Address `drona serve` listens on.")
    DRONA_PORT: int = Field(8000, ge=1, le=65535, description="Port `drona serve` listens on.")
    DRONA_CONTENT_DIR: Path = Field(REPO_ROOT / "content", description="Folder holding the course content.")
    DRONA_BUILD_DIR: Path = Field(
        REPO_ROOT / "build", description="Where `drona build` writes site/ and catalog.db, and `serve` reads them.")
    SECRET_KEY: str = Field(
        PLACEHOLDER_SECRET, description="Signs sessions and tokens. Must be set to a long random value in production.")
    APP_URL: str = Field("http://127.0.0.1:8000", description="Public base URL of the site, used in links.")

    @property
    def site_dir(self) -> Path:
        return self.DRONA_BUILD_DIR / "site"

    @property
    def catalog_db(self) -> Path:
        return self.DRONA_BUILD_DIR / "catalog.db"

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.DRONA_ENV != "local" and (self.SECRET_KEY == PLACEHOLDER_SECRET or len(self.SECRET_KEY) < 32):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters when DRONA_ENV is "
                "not 'local' (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
