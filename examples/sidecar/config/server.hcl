# Production mode: SQLite on the data volume, unsealed at start by the static key from the compose secret,
# every request and response recorded (with secret values HMAC'ed) in a file on the logs volume.
storage "sqlite" {
  path = "/strongroom/data/strongroom.db"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  # Plain HTTP stays on the compose network and the host's loopback; put TLS here for anything wider.
  tls_disable = true
}

seal "static" {
  current_key_id = "compose-1"
  current_key    = "file:///run/secrets/unseal_key"
}

audit "file" "file" {
  options {
    file_path = "/strongroom/logs/audit.log"
  }
}

api_addr = "http://server:8200"
