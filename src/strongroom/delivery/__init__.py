"""Delivery of secrets to programs with Docker-secrets semantics, without Swarm.

Layer: delivery (a client of the API, beside cli/ and agent/). Imports `strongroom.client` and stdlib;
never core/, http/ or builtin/.

`store` keeps Docker-style secrets in a KV version 2 mount through the API; `spec` parses `-secret=`
requests; `namespace` starts a command in a private mount namespace with the secrets on a tmpfs at
/run/secrets.
"""
