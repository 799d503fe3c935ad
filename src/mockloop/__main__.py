"""`python -m mockloop …` is the `mockloop` command."""

from mockloop.cli import main

main()
