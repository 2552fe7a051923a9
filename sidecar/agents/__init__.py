"""AI tutoring (§5): an orchestrator, six agents, retrieval and guardrails, in rooms:

- `api/`: the HTTP side — router (§13.2), request/response models, one turn end to end
  (`service.py`), the Assessor's and Code Reviewer's endpoints, SSE streaming, the rate limit;
- `policy/`: what to say — the orchestrator's routing (§5.1, §7.3), the agents' offline teaching
  policies (tutor, Socratic, scaffold, mentor, project guide), tone, prompts and the LiteLLM client;
- `guard/`: what must not be said — answer-leak checks on every reply and streamed piece,
  injection handling, and the leak suite;
- `memory/`: what the tutor remembers — conversations, per-lesson state, skill estimates (BKT);
- `quiz/`: the Assessor and the Quiz Generator (verified items, AST mutants);
- `review/`: the Code Reviewer;
- `retrieval/`: lesson passages, lexical + dense;
- `tables.py`: this domain's tables, as in every domain.
"""
