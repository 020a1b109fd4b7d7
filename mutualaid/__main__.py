"""`python -m mutualaid …`: the same command as `mutualaid …` (cli.md)."""
from mutualaid.cli import app

app(prog_name="mutualaid")
