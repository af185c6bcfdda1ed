"""The web UI's files (static/: one HTML page, plain ES modules and CSS, no build step), served at /ui/ by
strongroom.http.ui.

Layer: data only; nothing here is imported. The UI is a client of the public /v1 API, like the CLI.

Invariant: tokens live in the tab's sessionStorage only; no token or secret value is put in a URL.
"""
