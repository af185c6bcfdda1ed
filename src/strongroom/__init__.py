"""strongroom: a secrets manager for containerized applications that speaks the Vault HTTP API."""

__version__ = "0.1.0"
