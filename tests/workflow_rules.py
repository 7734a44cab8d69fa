"""Reading the rule files as text: each rule's name, conda env and script (for the tests)."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_RULE = re.compile(r"^\s*rule (\w+):\s*$")
_DIRECTIVE = re.compile(r"^\s+(\w+):\s*(\S.*)?$")


def rules() -> dict[str, dict[str, str]]:
    """rule name -> directive -> the first value line (quotes stripped), for every rule file."""
    found: dict[str, dict[str, str]] = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        current, pending = None, None
        for line in smk.read_text().splitlines():
            if match := _RULE.match(line):
                current = found.setdefault(match.group(1), {"file": smk.name})
                pending = None
            elif current is not None and (match := _DIRECTIVE.match(line)) and match.group(1) in DIRECTIVES:
                pending = match.group(1)
                current[pending] = (match.group(2) or "").strip().strip('",')
            elif current is not None and pending and line.strip() and not current[pending]:
                current[pending] = line.strip().strip('",')
    return found


DIRECTIVES = {"input", "output", "log", "params", "threads", "resources", "conda", "script", "benchmark"}
