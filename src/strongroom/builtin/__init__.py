"""Built-in engines and auth methods, listed in registry.py. Layer: builtin (never imports core)."""
