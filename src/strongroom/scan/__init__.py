"""`strongroom scan`: finding secrets where they must not be (Dockerfiles, compose files, .env files, any
text file, a built image's config and history), and moving them into strongroom.

Layer: scan. Modules: `rules` (what a secret looks like), `sources` (where to look in files), `image` (in
a built image), `report` (how findings are printed), `fix` (storing values and rewriting compose files).
Only `fix` reaches a server, through the client.
"""
