"""Check module and function sizes: print the largest module and every function over the limit; exit 1 if any.

Usage: python scripts/check_sizes.py [--module-lines 350] [--function-lines 60] PATH...
(PATH is a .py file or a folder searched recursively.)
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

_FUNCTIONS = ast.FunctionDef | ast.AsyncFunctionDef


def python_files(paths: list[str]) -> Iterator[Path]:
    """Every .py file named or under a named folder, sorted, each once."""
    found: set[Path] = set()
    for name in paths:
        path = Path(name)
        found.update(path.rglob("*.py") if path.is_dir() else [path])
    yield from sorted(found)


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function and method, nested ones too."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, _FUNCTIONS | ast.ClassDef):
            name = f"{prefix}{node.name}"
            if isinstance(node, _FUNCTIONS):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                yield name, first, node.end_lineno - first + 1
            yield from functions(node, name + ".")
        else:
            yield from functions(node, prefix)


def main(argv: list[str] | None = None) -> int:
    """Print the findings; 0 if every module and function is within the limits, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--module-lines", type=int, default=350, help="a module must have fewer lines than this")
    parser.add_argument("--function-lines", type=int, default=60, help="a function may have at most this many lines")
    args = parser.parse_args(argv)
    problems: list[str] = []
    largest: tuple[int, Path] | None = None
    longest: tuple[int, str] | None = None
    for path in python_files(args.paths):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        largest = max(largest or (lines, path), (lines, path))
        if lines >= args.module_lines:
            problems.append(f"{path}:1: module has {lines} lines (limit: fewer than {args.module_lines})")
        for name, first, length in functions(ast.parse(text, filename=str(path))):
            longest = max(longest or (length, f"{path}:{first} {name}"), (length, f"{path}:{first} {name}"))
            if length > args.function_lines:
                problems.append(f"{path}:{first}: function {name} has {length} lines (limit: {args.function_lines})")
    if largest:
        print(f"largest module: {largest[1]} ({largest[0]} lines)")
    if longest:
        print(f"longest function: {longest[1]} ({longest[0]} lines)")
    print("\n".join(problems) if problems else "all within limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
