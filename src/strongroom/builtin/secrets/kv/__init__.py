"""The "kv" secrets engine, versions 1 and 2. Layer: builtin; see backend.py for the factory."""
