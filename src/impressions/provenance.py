"""Which library modules a rule's script runs, so that editing one reruns the rules that use it.

Snakemake reruns a rule when its script changes, but not when a module the script imports
changes. Rules list `library_modules(script)` among their inputs to close that gap.
"""

from __future__ import annotations

import ast
import os
from functools import lru_cache
from pathlib import Path

PACKAGE = "impressions"


def _imported_modules(source: Path) -> set[str]:
    """Names of the `impressions` modules that a file imports directly."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _module_file(package_root: Path, module: str) -> Path | None:
    parts = module.split(".")
    candidate = package_root.joinpath(*parts).with_suffix(".py")
    if candidate.is_file():
        return candidate
    package_init = package_root.joinpath(*parts, "__init__.py")
    return package_init if package_init.is_file() else None


@lru_cache(maxsize=None)
def library_modules(script: str | os.PathLike, package_root: str | os.PathLike) -> tuple[str, ...]:
    """Every module file of the package that `script` imports, directly or through other modules.

    Parameters
    ----------
    script : path of a rule script
    package_root : the folder that holds the package (``src``)

    Returns
    -------
    tuple of str: sorted paths of the module files, the package's ``__init__.py`` included
    """
    root = Path(package_root)
    todo = [Path(script)]
    files = {root / PACKAGE / "__init__.py"}
    while todo:
        for module in _imported_modules(todo.pop()):
            path = _module_file(root, module)
            if path is not None and path not in files:
                files.add(path)
                todo.append(path)
    return tuple(sorted(str(path) for path in files))
