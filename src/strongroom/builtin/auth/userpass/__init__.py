"""The "userpass" auth method: users with argon2id-hashed passwords log in for tokens. Layer: builtin;
see backend.py."""
