"""The pki secrets engine: a certificate authority that issues X.509 certificates (Vault's pki backend)."""
