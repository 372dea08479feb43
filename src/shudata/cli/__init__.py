"""L7 command line (Typer + Rich)."""
