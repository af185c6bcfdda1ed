#!/bin/sh
# One-shot seed: the secret, a policy that reads only it, and the app's token.
set -eu
until strongroom status >/dev/null 2>&1; do sleep 0.2; done

strongroom secret inspect db_password >/dev/null 2>&1 || \
    python3 -c 'import secrets; print(secrets.token_urlsafe(24), end="")' | strongroom secret create db_password -
strongroom policy write app-secrets - <<'POLICY'
path "docker-secrets/data/db_password" {
  capabilities = ["read"]
}
path "docker-secrets/metadata/db_password" {
  capabilities = ["read"]
}
POLICY
umask 077
strongroom token create -policy=app-secrets -ttl=24h -field=token > /strongroom/token/.strongroom-token.new
mv /strongroom/token/.strongroom-token.new /strongroom/token/.strongroom-token
echo "seed: done"
