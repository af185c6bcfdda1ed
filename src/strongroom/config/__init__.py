"""Configuration files in Vault's syntax, read once into frozen dataclasses. Layer: above hcl and util."""
