"""Property-based API tests from the OpenAPI schema (schemathesis): no input gives a 5xx.

Every operation is called with generated path, query, form and JSON values, signed in as
an admin (who may call everything), against seeded data on SQLite and PostgreSQL. Kept
small: a few examples per operation, no shrinking beyond the default, well under a minute.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.web_support import Seeded, Web, fast_hashes, seeded, web  # noqa: F401

pytestmark = pytest.mark.store


def _schema_app():  # noqa: ANN202
    """The schema only: an app over a database that is never opened (tests call the real one)."""
    from api.app import create_app
    from mutualaid.store.db import Database

    return create_app(Database("sqlite://", migrate_schema=False))


# signing out would end the run's token; everything else is fair game
CONFIG = schemathesis.Config.from_dict({
    # the coverage phase alone sends every boundary value of every parameter: too slow here
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "generation": {"max-examples": 6, "mode": "all", "deterministic": True, "allow-x00": True},
})
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _schema_app(), config=CONFIG).exclude(
    method="DELETE", path="/api/v1/token")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, web: Web, seeded: Seeded) -> None:  # noqa: ANN001, F811
    case.call_and_validate(app=web.app, headers={**web.auth("admin"), **(case.headers or {})},
                           checks=[not_a_server_error, response_schema_conformance])
