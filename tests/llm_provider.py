"""A LiteLLM custom provider for tests: the model path without a network or a paid API.

Registered under the provider name `dronatest`; each model name picks a behaviour:
  dronatest/scripted   replies with ScriptedLLM.reply(messages) (set by the test)
  dronatest/broken     fails before any text (exercises fallbacks and the offline policy)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
from litellm import CustomLLM  # noqa: E402


class ScriptedLLM(CustomLLM):
    def __init__(self) -> None:
        super().__init__()
        self.reply: Callable[[list[dict[str, Any]]], str] = lambda messages: "What have you tried so far?"
        self.calls: list[list[dict[str, Any]]] = []

    def _text(self, model: str, messages: list[dict[str, Any]]) -> str:
        self.calls.append(messages)
        if model.endswith("broken"):
            raise RuntimeError("provider down (api_key=sk-test-SECRETSECRET)")
        return self.reply(messages)

    def completion(self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        return litellm.completion(model="gpt-4o", messages=messages, mock_response=self._text(model, messages))

    async def acompletion(self, model: str, messages: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        return self.completion(model, messages)

    async def astreaming(self, model: str, messages: list[dict[str, Any]], *args: Any,
                         **kwargs: Any) -> AsyncIterator[Any]:
        text = self._text(model, messages)
        # Small pieces, split mid-line, the way real providers stream.
        for start in range(0, len(text), 7):
            yield {"text": text[start:start + 7], "is_finished": False, "finish_reason": None, "usage": None,
                   "index": 0, "tool_use": None}
        yield {"text": "", "is_finished": True, "finish_reason": "stop", "usage": None, "index": 0,
               "tool_use": None}


PROVIDER = ScriptedLLM()


def install() -> ScriptedLLM:
    litellm.custom_provider_map = [{"provider": "dronatest", "custom_handler": PROVIDER}]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
    return PROVIDER
