"""Mutation score of the computing modules: how many small changes to the code their unit tests notice.

Runs mutmut (pinned in requirements.txt, configured in pyproject.toml's ``[tool.mutmut]``: which
modules it mutates and which unit-test files judge them) one module at a time, then reads its
results and prints one line per module and a total:

    .venv/bin/python bench/mutation.py [MODULE ...] [--max-children 2] [--survivors] [--fresh] [--no-run | --retest]

``mutation: module=<m> mutants=<n> caught=<k> score=<k/n>``

MODULE is any dotted part of a module name (``metrics``, ``data.kinds``); none means every
module. A mutant is caught when a test failed (mutmut's ``killed``), ran out of time (``timeout``,
the mutant looped) or crashed the test process (``segfault``); ``survived``, ``no tests`` (no
selected test runs the function) and ``suspicious`` count as not caught. Mutants not run yet are
left out of the line. mutmut keeps its copy and its results in ``mutants/``; a module's run
tests every one of its mutants again, so edited tests count. ``--retest`` tests again only the
mutants not caught (or not run) last time: enough after tests were added, since a test added
cannot let a caught mutant through.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAUGHT = {"killed", "timeout", "segfault", "caught by type check"}
NOT_RUN = {"not checked", "check was interrupted by user"}


def modules() -> list[str]:
    """The dotted names of the modules pyproject.toml's ``only_mutate`` names, in its order."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    names = []
    for pattern in patterns:
        for path in sorted(REPO.glob(pattern)):
            parts = path.relative_to(REPO / "src").with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def chosen(wanted: list[str]) -> list[str]:
    """The modules of which each wanted name is a dotted part (all without names)."""
    every = modules()
    if not wanted:
        return every
    picked = [m for m in every if any(f".{name}." in f".{m}." for name in wanted)]
    if not picked:
        sys.exit(f"no module matches {wanted}; the mutated modules are {every}")
    return picked


def mutmut(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=REPO, text=True, capture_output=True, **kwargs)


def statuses() -> dict[str, str]:
    """Mutant name -> mutmut's status of it, for every mutant generated so far."""
    result = mutmut("results", "--all", "true", check=True)
    found = {}
    for line in result.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if "__mutmut_" in name:
            found[name] = status
    return found


def module_of(mutant: str) -> str:
    """``impressions.io.cache.xǁCacheReaderǁget__mutmut_3`` -> ``impressions.io.cache``."""
    return mutant.partition("__mutmut_")[0].rpartition(".")[0]


def run(module: str, max_children: int, retest: bool) -> float:
    """Seconds mutmut took to test the mutants of `module` (its functions: ``x_f``, ``xǁClassǁf``):
    all of them, or with `retest` those not caught last time."""
    names = [f"{module}.x_*", f"{module}.xǁ*"]
    if retest:
        names = [m for m, status in statuses().items() if module_of(m) == module and status not in CAUGHT]
        if not names:
            return 0.0
    started = time.perf_counter()
    result = mutmut("run", "--max-children", str(max_children), *names)
    if result.returncode != 0:
        sys.exit(f"mutmut run failed for {module} (exit {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return time.perf_counter() - started


def line(name: str, counts: Counter) -> str:
    total = sum(n for status, n in counts.items() if status not in NOT_RUN)
    caught = sum(counts[status] for status in CAUGHT)
    score = f"{caught / total:.3f}" if total else "nan"
    return f"mutation: module={name} mutants={total} caught={caught} score={score}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="dotted parts of module names (default: every mutated module)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--survivors", action="store_true", help="print each mutant not caught, with its diff")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ (mutmut's copy, stats and results) first")
    parser.add_argument("--no-run", action="store_true", help="only print the results mutmut already has")
    parser.add_argument("--retest", action="store_true", help="test again only the mutants not caught last time")
    args = parser.parse_args()

    selected = chosen(args.modules)
    if args.fresh:
        shutil.rmtree(REPO / "mutants", ignore_errors=True)
    if not args.no_run:
        for module in selected:
            print(f"{module}: mutmut ran in {run(module, args.max_children, args.retest):.0f} s", flush=True)
    by_module: dict[str, Counter] = {m: Counter() for m in selected}
    survivors = []
    for mutant, status in sorted(statuses().items()):
        if (module := module_of(mutant)) in by_module:
            by_module[module][status] += 1
            if status not in CAUGHT | NOT_RUN:
                survivors.append(mutant)
    if args.survivors:
        for mutant in survivors:
            print(mutmut("show", mutant).stdout.rstrip(), end="\n\n")
    for module, counts in by_module.items():
        if not_run := sum(counts[s] for s in NOT_RUN):
            print(f"{module}: {not_run} mutants not run yet")
        print(line(module.removeprefix("impressions."), counts))
    print(line("total", sum(by_module.values(), Counter())))


if __name__ == "__main__":
    main()
