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


def _module_name(source: Path, package_root: Path) -> list[str] | None:
    """The dotted name of a module file inside the package, as parts; None for a file outside it."""
    try:
        parts = list(source.resolve().relative_to(package_root.resolve()).with_suffix("").parts)
    except ValueError:
        return None
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported_modules(source: Path, package_root: Path) -> set[str]:
    """Names of the `impressions` modules that a file imports directly, relative imports resolved.

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (c may be a module or a name in ``a.b``).
    """
    found = set()
    name = _module_name(source, package_root)
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the file's own package, `level - 1` packages up
                if name is None:
                    continue
                package = name if source.name == "__init__.py" else name[:-1]
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != PACKAGE:
                continue
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _module_files(package_root: Path, module: str) -> list[Path]:
    """The files Python runs to import `module`: each enclosing package's ``__init__.py``, then it."""
    files = []
    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        stem = package_root.joinpath(*parts[:depth])
        if stem.with_suffix(".py").is_file():
            files.append(stem.with_suffix(".py"))
        elif (stem / "__init__.py").is_file():
            files.append(stem / "__init__.py")
    return files


@lru_cache(maxsize=None)
def library_modules(script: str | os.PathLike, package_root: str | os.PathLike) -> tuple[str, ...]:
    """Every module file of the package that `script` imports, directly or through other modules.

    Importing ``impressions.a.b`` runs ``impressions/__init__.py`` and ``impressions/a/__init__.py``
    too, so each enclosing package's ``__init__.py`` counts, and so do relative imports.

    Parameters
    ----------
    script : path of a rule script (or of a module of the package)
    package_root : the folder that holds the package (``src``)

    Returns
    -------
    tuple of str: sorted paths of the module files, the package's ``__init__.py`` included
    """
    root = Path(package_root)
    files = {root / PACKAGE / "__init__.py"}
    todo = [Path(script), *(path for path in files if path.is_file())]
    while todo:
        for module in _imported_modules(todo.pop(), root):
            for path in _module_files(root, module):
                if path not in files:
                    files.add(path)
                    todo.append(path)
    return tuple(sorted(str(path) for path in files))
