"""Every import of the packages is at module level: an import placed inside a function to dodge an import circle is a
design bug (DESIGN.md section 4), and the import contracts (`lint-imports`) check the module-level graph."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "students", "workflow", "notifications", "orders", "approvals", "reports", "registrar")


def test_no_import_inside_a_function():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    found += [
                        f"{path.relative_to(ROOT)}:{node.lineno} in {function.name}()"
                        for node in ast.walk(function)
                        if isinstance(node, ast.Import | ast.ImportFrom)
                    ]
    assert not found, "imports inside functions:\n" + "\n".join(found)
