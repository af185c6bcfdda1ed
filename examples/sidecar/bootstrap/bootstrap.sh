#!/bin/sh
# One-shot bootstrap. On the first run: initialize the server (recovery key and root token to
# /init/init.json, for the operator), enable the KV mount with the app's first password and AppRole. On
# every run: the app's policy and role, and a role ID and a fresh secret ID for the agent.
set -eu

until strongroom status >/dev/null 2>&1 || [ $? -eq 2 ]; do sleep 0.2; done
root_token() { python3 -c 'import json; print(json.load(open("/init/init.json"))["root_token"])'; }

if [ ! -s /init/init.json ]; then
    # The static seal unseals the server as soon as it is initialized.
    umask 077
    strongroom operator init -recovery-shares=1 -recovery-threshold=1 -format=json > /init/init.json.new
    mv /init/init.json.new /init/init.json
    VAULT_TOKEN=$(root_token)
    export VAULT_TOKEN
    strongroom secrets enable -path=secret kv-v2
    strongroom kv put secret/db password="$(head -c 18 /dev/urandom | base64)" >/dev/null
    strongroom auth enable approle
else
    VAULT_TOKEN=$(root_token)
    export VAULT_TOKEN
    until strongroom status >/dev/null 2>&1; do sleep 0.2; done
fi

strongroom policy write app - <<'POLICY'
path "secret/data/db" {
  capabilities = ["read"]
}
# The agent re-renders on the server's change events instead of polling.
path "sys/events/subscribe/*" {
  capabilities = ["read", "subscribe"]
}
POLICY
strongroom write auth/approle/role/app token_policies=app token_ttl=1h token_max_ttl=24h

# Written aside, handed to the agent's uid, then renamed into place (the role ID last), so the agent never
# reads a half-written or still root-owned file.
umask 077
strongroom read -field=role_id auth/approle/role/app/role-id > /strongroom/auth/.role_id
strongroom write -f -field=secret_id auth/approle/role/app/secret-id > /strongroom/auth/.secret_id
chown 1000:1000 /strongroom/auth/.role_id /strongroom/auth/.secret_id
mv /strongroom/auth/.secret_id /strongroom/auth/secret_id
mv /strongroom/auth/.role_id /strongroom/auth/role_id
echo "bootstrap: done"
