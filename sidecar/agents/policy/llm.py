"""Model calls through LiteLLM, only when a model is configured.

LiteLLM is imported lazily (it takes seconds) and with LITELLM_LOCAL_MODEL_COST_MAP=True, or it
fetches its cost map from the internet at import. Provider keys stay in the environment where
LiteLLM reads them; nothing here logs or returns them: errors are logged by type with anything
that looks like a key masked.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.settings import Settings

logger = logging.getLogger("drona.agents.llm")

AGENTS = ("tutor", "assessor", "reviewer", "mentor", "project_guide", "quiz_generator")
_SECRETISH = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|(?i:key|token|secret|authorization)[\"'=: ]+\S+)")


class ModelError(RuntimeError):
    """The model could not answer; the caller falls back to the offline policy."""


@dataclass(frozen=True)
class ModelCall:
    """One try of one model, for the platform dashboard: latency, tokens and cost from LiteLLM's local cost map."""

    agent: str
    provider: str
    model: str
    ok: bool
    latency_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None


def _measured(litellm: Any, *, agent: str, model: str, ok: bool, started: float, messages: Sequence[dict[str, str]],
              reply: str) -> ModelCall:
    latency = (time.perf_counter() - started) * 1000
    try:
        provider = str(litellm.get_llm_provider(model)[1])
    except Exception:  # noqa: BLE001 - an unknown model still has a name
        provider = model.split("/", 1)[0] if "/" in model else "unknown"
    prompt = completion = None
    cost = None
    try:
        prompt = int(litellm.token_counter(model=model, messages=list(messages)))
        completion = int(litellm.token_counter(model=model, text=reply)) if reply else 0
        prices = litellm.cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion)
        cost = float(prices[0] + prices[1])
    except Exception:  # noqa: BLE001 - not in the cost map (a local model): no price
        cost = None
    return ModelCall(agent=agent, provider=provider, model=model, ok=ok, latency_ms=latency, prompt_tokens=prompt,
                     completion_tokens=completion, cost_usd=cost)


def redact(text: str) -> str:
    return _SECRETISH.sub("[redacted]", text)


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def model_for(settings: Settings, agent: str) -> str | None:
    """The agent's model: its override, else the default, else None (offline policy)."""
    return settings.AI_AGENT_MODELS.get(agent) or settings.AI_MODEL


def restrict(settings: Settings, allowed: Sequence[str] | None) -> Settings:
    """The settings a learner's requests run under when their organisation allows only some models
    (None: all). A model not allowed is dropped; an agent whose model is dropped uses the default, else
    the first allowed fallback, else the offline teaching policy. The guardrails are the same either way."""
    if allowed is None:
        return settings
    ok = set(allowed)
    fallbacks = [m for m in settings.AI_FALLBACK_MODELS if m in ok]
    default = settings.AI_MODEL if settings.AI_MODEL in ok else (fallbacks[0] if fallbacks else None)
    agents = {agent: model for agent, model in settings.AI_AGENT_MODELS.items() if model in ok}
    return settings.model_copy(update={"AI_MODEL": default, "AI_AGENT_MODELS": agents, "AI_FALLBACK_MODELS": fallbacks})


def describe(settings: Settings) -> dict[str, Any]:
    """What the tutor panel shows: the mode and model names, never keys or URLs with credentials."""
    models = {agent: model_for(settings, agent) for agent in AGENTS}
    llm = any(models.values())
    return {"mode": "llm" if llm else "offline", "models": {a: m for a, m in models.items() if m},
            "fallbacks": list(settings.AI_FALLBACK_MODELS) if llm else []}


async def stream(settings: Settings, agent: str, messages: Sequence[dict[str, str]], *,
                 max_tokens: int = 600, calls: list[ModelCall] | None = None) -> AsyncIterator[str]:
    """Stream the reply's text; tries the fallbacks in order when a model fails before any text. Each try is
    appended to `calls` (when given) with its latency and cost."""
    primary = model_for(settings, agent)
    if primary is None:
        raise ModelError("no model configured")
    litellm = _litellm()
    last_error = "no model answered"
    for model in [primary, *[m for m in settings.AI_FALLBACK_MODELS if m != primary]]:
        kwargs: dict[str, Any] = {"model": model, "messages": list(messages), "stream": True,
                                  "max_tokens": max_tokens, "timeout": settings.AI_TIMEOUT_SECONDS}
        if settings.AI_API_BASE:
            kwargs["api_base"] = settings.AI_API_BASE
        produced = False
        started, pieces = time.perf_counter(), []
        try:
            response = await litellm.acompletion(**kwargs)
            async for chunk in response:
                choices = getattr(chunk, "choices", None) or []
                delta = getattr(choices[0], "delta", None) if choices else None
                text = getattr(delta, "content", None) if delta is not None else None
                if text:
                    produced = True
                    pieces.append(text)
                    yield text
            if calls is not None:
                calls.append(_measured(litellm, agent=agent, model=model, ok=True, started=started,
                                       messages=messages, reply="".join(pieces)))
            return
        except Exception as exc:  # noqa: BLE001 - any provider failure means: try the next one
            if calls is not None:
                calls.append(_measured(litellm, agent=agent, model=model, ok=False, started=started,
                                       messages=messages, reply="".join(pieces)))
            last_error = f"{type(exc).__name__}: {redact(str(exc))[:300]}"
            logger.warning("model %s failed for %s: %s", model, agent, last_error)
            if produced:
                raise ModelError(last_error) from None
    raise ModelError(last_error)
