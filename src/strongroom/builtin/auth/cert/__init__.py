"""The TLS certificate auth method (Vault's builtin/credential/cert)."""
