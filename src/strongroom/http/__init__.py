"""The HTTP face of the server: an ASGI application that speaks Vault's /v1/ API.

Layer: imports core (one entry point, Core.handle) and logical. Knows HTTP; nothing below it does.
"""
