# The agent sidecar: logs in with the AppRole credentials the bootstrap left on the agent-auth volume,
# and renders the app's database password onto the in-memory secrets volume, again at every change
# (the server's event stream tells it).
vault {
  address = "http://server:8200"
}

auto_auth {
  method "approle" {
    # Until the bootstrap has left the credentials, retry every second rather than backing off further.
    max_backoff = "1s"
    config = {
      role_id_file_path   = "/strongroom/auth/role_id"
      secret_id_file_path = "/strongroom/auth/secret_id"
      # The credentials volume is read-only here, and kept so a restarted agent can log in again.
      remove_secret_id_file_after_reading = false
    }
  }
}

template {
  contents    = "{{ with secret \"secret/data/db\" }}{{ .Data.data.password }}{{ end }}"
  destination = "/mnt/secrets/db_password"
  perms       = "0400"
}
