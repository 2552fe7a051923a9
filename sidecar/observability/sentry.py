"""Optional error reporting to Sentry (SENTRY_DSN): unhandled errors, never personal data.

send_default_pii is off (no cookies, user ids, client addresses), request bodies are never
attached, and `scrub` removes from every event, whatever an integration put there: the
Cookie, Authorization and other credential headers, cookies, the request body and the query
string (which may carry sign-in tokens).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.settings import Settings

SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-csrf-token", "proxy-authorization",
                               "x-api-key"})


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send (and before_send_transaction): the event without credentials or bodies."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("cookies", "data", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if str(k).lower() not in SENSITIVE_HEADERS}
        elif isinstance(headers, list):
            request["headers"] = [pair for pair in headers
                                  if not (isinstance(pair, list | tuple) and pair
                                          and str(pair[0]).lower() in SENSITIVE_HEADERS)]
    event.pop("user", None)
    return event


def init_sentry(settings: Settings, version: str) -> bool:
    """sentry_sdk.init when SENTRY_DSN is set; True when it was."""
    if settings.SENTRY_DSN is None or not settings.SENTRY_DSN.get_secret_value().strip():
        return False
    import logging
    import warnings

    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration

    with warnings.catch_warnings():
        # Newer SDKs prefer `data_collection`, but read send_default_pii=False the same way; it is
        # stated here so that no SDK version's default can turn personal data on.
        warnings.simplefilter("ignore", DeprecationWarning)
        sentry_sdk.init(dsn=settings.SENTRY_DSN.get_secret_value().strip(), send_default_pii=False,
                        max_request_body_size="never", before_send=scrub,  # type: ignore[arg-type]
                        environment=settings.DRONA_ENV, release=f"dronacharya@{version}",
                        traces_sample_rate=None, include_local_variables=False,
                        # No Sentry trace headers on the sidecar's own outgoing requests (LLM providers,
                        # the LRS, identity providers): third parties learn nothing from us.
                        trace_propagation_targets=[],
                        # Errors reach Sentry through the log: the app's one handler for unhandled errors
                        # logs each with its traceback (sidecar/errors.py). No framework or library
                        # integrations: they patch Starlette, httpx and threading process-wide and stay
                        # patched (in the tests, a process that had turned Sentry on and off again then
                        # left a later request with a refused body waiting forever).
                        default_integrations=False, auto_enabling_integrations=False,
                        integrations=[LoggingIntegration(level=None, event_level=logging.ERROR)])
    return True
