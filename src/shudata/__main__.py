"""``python -m shudata`` runs the CLI."""

from shudata.cli.main import app

app()
