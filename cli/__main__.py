"""`python -m cli`: the `leadtemp` command."""

from cli.main import main

main()
