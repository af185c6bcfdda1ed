#!/bin/sh
# The image's entrypoint, shaped like Vault's docker-entrypoint.sh so the same `docker run` lines and compose
# files work with the image name changed:
#   (no arguments)       strongroom server -dev  (CMD), listening on 0.0.0.0:8200 unless
#                        STRONGROOM_DEV_LISTEN_ADDRESS or VAULT_DEV_LISTEN_ADDRESS says otherwise; the root
#                        token from STRONGROOM_DEV_ROOT_TOKEN_ID or VAULT_DEV_ROOT_TOKEN_ID
#   server [FLAGS]       strongroom server -config=/strongroom/config FLAGS (with -dev: the config directory
#                        only when it holds something)
#   -FLAG ...            as `server -FLAG ...`
#   agent, proxy, kv...  any strongroom subcommand: strongroom SUBCOMMAND ...
#   a program            executed as given (sh, python3, ...), unless strongroom has a subcommand of its name
set -e

# A secrets manager must not leave its memory in a core file.
ulimit -c 0

config_dir=${STRONGROOM_CONFIG_DIR:-/strongroom/config}

# Vault's VAULT_LOCAL_CONFIG: configuration given inline, written into the config directory.
local_config=${STRONGROOM_LOCAL_CONFIG:-${VAULT_LOCAL_CONFIG:-}}
if [ -n "$local_config" ]; then
    printf '%s\n' "$local_config" > "$config_dir/local.json"
fi

case "$1" in
    -*) set -- server "$@" ;;
esac

if [ "$1" = server ]; then
    shift
    dev=
    for arg in "$@"; do
        case "$arg" in
            -dev | --dev | -dev=true | --dev=true) dev=1 ;;
        esac
    done
    if [ -n "$dev" ]; then
        # In a container, the dev server must listen beyond loopback to be reachable through -p.
        if [ -z "${STRONGROOM_DEV_LISTEN_ADDRESS:-}${VAULT_DEV_LISTEN_ADDRESS:-}${BAO_DEV_LISTEN_ADDRESS:-}" ]; then
            export STRONGROOM_DEV_LISTEN_ADDRESS=0.0.0.0:8200
        fi
        if [ -n "$(ls -A "$config_dir" 2>/dev/null)" ]; then
            set -- -config="$config_dir" "$@"
        fi
    else
        set -- -config="$config_dir" "$@"
    fi
    set -- strongroom server "$@"
elif [ "$1" != strongroom ]; then
    # Not a program here, or a program that is also a subcommand (login): strongroom's.
    if ! command -v "$1" >/dev/null 2>&1 || strongroom "$1" --help >/dev/null 2>&1; then
        set -- strongroom "$@"
    fi
fi

exec "$@"
