"""Interfaces translate, services decide, the store persists (docs/architecture.md).

An interface module (the API's routers, pages and request helpers, the CLI, the batch
jobs) that builds or runs SQL has taken over a service's work: the rule it encodes would
not be met by the other interfaces. This test reads the interface modules' syntax trees and fails on SQL:
SQLAlchemy's statement builders or the ORM models imported (outside ``TYPE_CHECKING``),
or a session/connection asked to run a query.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the web (routers, pages, request helpers, the job runner), the CLI and the batch jobs
INTERFACES = sorted([*ROOT.glob("api/*.py"), *ROOT.glob("api/routers/*.py"), *ROOT.glob("api/pages/*.py"),
                     *ROOT.glob("mutualaid/cli*.py"), *ROOT.glob("batch/*.py")])

#: statement builders: importing one of these from sqlalchemy is writing SQL
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "and_", "or_", "literal", "exists", "join",
                "outerjoin", "union", "case"}
#: the ORM models: an interface that builds or reads rows itself bypasses the service's rules
ORM_MODELS = "mutualaid.store.models"
#: methods that run a statement
RUNNERS = {"execute", "scalars", "scalar", "query", "exec_driver_sql"}

#: (file relative to the project, construct) that must stay, each with its reason; none today:
#: every query has a home in a service (mutualaid/<area>/) or the store (mutualaid/store/)
ALLOWED: dict[tuple[str, str], str] = {}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    found: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                todo.extend(child.orelse)
                continue
            todo.append(child)
    return found


def sql_constructs(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [f"import {a.name}" for a in node.names if a.name in SQL_BUILDERS]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(ORM_MODELS):
            found.append(f"import {node.module}")
        elif isinstance(node, ast.ImportFrom) and node.module == "mutualaid.store":
            found += [f"import mutualaid.store.{a.name}" for a in node.names if a.name.startswith("models")]
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names
                      if (a.name.split(".")[0] == "sqlalchemy" and a.name != "sqlalchemy.exc")
                      or a.name.startswith(ORM_MODELS)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNNERS:
            found.append(f".{node.func.attr}(")
    return found


def test_the_interface_list_is_not_empty() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in INTERFACES}
    assert {"api/services.py", "api/services_casework.py", "api/jobs.py", "mutualaid/cli.py", "api/routers/claims.py",
            "api/pages/claims.py", "batch/distributed.py"} <= names


@pytest.mark.parametrize("path", INTERFACES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_interfaces_hold_no_sql(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    found = [c for c in sql_constructs(path) if (rel, c) not in ALLOWED]
    assert not found, f"{rel} builds or runs SQL ({', '.join(found)}): move the query into the area's service"


def test_the_check_sees_sql(tmp_path: Path) -> None:
    """The check itself: each kind of construct is found, plain method names are not."""
    sample = tmp_path / "sample.py"
    sample.write_text("from typing import TYPE_CHECKING\nfrom sqlalchemy import select, update\nimport sqlalchemy.exc\n"
                      "from mutualaid.store.models import Claim\n"
                      "if TYPE_CHECKING:\n    from mutualaid.store.models_casework import ClaimReturn\n"
                      "def f(session, d):\n    d.update(a=1)\n    return session.execute(select(1)).scalar()\n",
                      encoding="utf-8")
    assert sorted(sql_constructs(sample)) == [".execute(", ".scalar(", "import mutualaid.store.models",
                                              "import select", "import update"]
