"""`python -m strongroom`: the same as the `strongroom` command."""

from strongroom.cli.main import main

main()
