"""The "cubbyhole" secrets engine: per-token private storage. Layer: builtin; see backend.py."""
