"""Built-in secrets engines, one package each. Layer: builtin (imports framework, logical, crypto, util)."""
