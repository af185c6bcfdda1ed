"""Built-in auth methods, one package each. Layer: builtin (imports framework, logical, crypto, util)."""
