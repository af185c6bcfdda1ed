"""The AppRole auth method: roles, role IDs, secret IDs, and logins with both. Layer: builtin."""
