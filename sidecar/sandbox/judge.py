"""The trusted side of grading: one job's tests, run in a CPython process of their own.

    python -I -S judge.py <package root>        (started by the sidecar through launch.py)

The sidecar sends the tests (hidden ones included: their code and expected values exist only
here and in catalog.db) and the seed. Each test runs with harness.run_test_with, whose questions
about the learner's program (run it with this input, call this function with these arguments)
go to the sidecar as `ask` lines; the sidecar relays them to the job's sandbox isolate and sends
the isolate's reply back as an `answer`. Replies are untrusted data: harness.decode accepts plain
values only, so nothing the program does can pose as a value, a comparison or a verdict.

Protocol (JSON lines; stdout carries nothing else: the tests' own prints are discarded):
  in:  {"tests": [{name, code, stdin, hidden, feedback}], "seed": int}
       {"answer": {"reply": str | null, "output": str, "cut": bool}} for each ask
  out: {"op": "ready"} at start-up; {"op": "test", "index": i} before each test;
       {"op": "ask", "request": {...}}; {"op": "result", "index": i, "result": {...}}; {"op": "done"}
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    from sidecar.courseware import harness

    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    protocol_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    # The tests' prints, and what the program printed inside calls, must never reach the protocol.
    sys.stdout = sys.stderr = io.StringIO()
    sys.stdin = io.StringIO("")

    def write(message: dict[str, Any]) -> None:
        sys.stdout.seek(0)
        sys.stdout.truncate()  # keep the discarded prints from piling up
        protocol_out.write(json.dumps(message) + "\n")

    def ask(request: dict[str, Any]) -> dict[str, Any]:
        write({"op": "ask", "request": request})
        line = protocol_in.readline()
        if not line:
            raise harness.OracleFailure("the sidecar stopped the job")
        message = json.loads(line)
        answer = message.get("answer") if type(message) is dict else None
        if type(answer) is not dict or type(answer.get("reply")) is not str:
            raise harness.OracleFailure("the program's side gave no answer")
        try:
            reply = json.loads(answer["reply"])
        except (ValueError, RecursionError):
            reply = None
        if type(reply) is not dict:
            # Whatever the program made of its side, the test gets an unusable answer, not a crash.
            reply = {"kind": "unplain", "why": "an unreadable answer", "error": "Your program's answer could not "
                     "be read."}
        output = answer.get("output")
        reply["output"] = output if type(output) is str else ""
        return dict(reply)

    write({"op": "ready"})
    job = json.loads(protocol_in.readline())
    tests, seed = job["tests"], int(job["seed"])
    for index, test in enumerate(tests):
        write({"op": "test", "index": index})
        try:
            result = harness.run_test_with(ask, test, seed + index)
        except harness.OracleFailure:
            return  # the sidecar knows why (timeout, memory, crash) and reports it
        write({"op": "result", "index": index, "result": result})
    write({"op": "done"})


if __name__ == "__main__":
    main()
