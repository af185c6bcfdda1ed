"""Advisories about the database secrets engine (PostgreSQL).

GHSA-6vgr-cp5c-ffx3 / CVE-2026-39946 (OpenBao 2.5.3): the default revocation left a schema name unquoted,
so for a schema whose name needs quoting the REVOKE failed, the DROP ROLE after it failed on the grants
left behind, and a revoked lease's database user kept its login and its rights.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.postgres import CREATE_ROLE, Postgres
from tests.security.advisories import BOTH, ok, target


@BOTH
def test_ghsa_6vgr_cp5c_ffx3_cve_2026_39946_revoke_quotes_schema_names(
    request: pytest.FixtureRequest, which: str, postgres: Postgres
) -> None:
    running = target(request, which)
    schema = f"Sales Dept {uuid.uuid4().hex[:6]}"
    postgres.query(f'CREATE SCHEMA "{schema}"')
    postgres.query(f'CREATE TABLE "{schema}".orders (id int)')
    mount = f"db-{uuid.uuid4().hex[:8]}"
    grants = [
        CREATE_ROLE,
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{{{{name}}}}";',
        f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{{{{name}}}}";',
    ]
    with running.client() as root:
        postgres.enable_database(root, mount, creation_statements=grants)
        creds = ok(root.get(f"/v1/{mount}/creds/app")).json()
        username = creds["data"]["username"]
        assert postgres.role_exists(username)
        ok(root.put("/v1/sys/leases/revoke", json={"lease_id": creds["lease_id"]}))
    # Revocation may finish just after the answer; the user must be gone soon after.
    for _ in range(50):
        if not postgres.role_exists(username):
            break
        httpx.get(f"{running.address}/v1/sys/health", timeout=10)
    assert not postgres.role_exists(username)
