"""The pki engine's ACME server (RFC 8555), as OpenBao serves it on a pki mount: directories, nonces,
accounts, orders, authorizations, challenge validation, finalization and revocation, and the token-guarded
config/acme, config/cluster and EAB management paths."""
