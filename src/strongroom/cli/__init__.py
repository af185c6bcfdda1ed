"""The `strongroom` command line, in the style of the Vault CLI.

Layer: cli. Imports click, `strongroom.client` (HTTP only) and `strongroom.util`; never the server code.
"""
