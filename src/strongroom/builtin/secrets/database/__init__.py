"""The database secrets engine: dynamic PostgreSQL users behind leases (Vault's database backend)."""
