"""The agent sidecar (`strongroom agent -config=agent.hcl`), compatible with Vault Agent.

Layer: agent. May import `strongroom.client`, `strongroom.config`, `strongroom.hcl`, `strongroom.util` and
`strongroom.errors`; never the server (core, http, builtin, ...).
"""
