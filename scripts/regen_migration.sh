#!/usr/bin/env bash
# Regenerate the initial migration from the models (only while no release exists).
set -euo pipefail
exec 9>/tmp/shudata-migration.lock; flock 9
cd "$(dirname "$0")/.."
rm -f src/shudata/db/migrations/versions/0001_initial.py
tmp=$(mktemp -d)
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from sqlalchemy import create_engine
from shudata.db.migrate import alembic_config
engine = create_engine(f"sqlite:///{sys.argv[1]}/m.db")
command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001_initial")
PY
rm -rf "$tmp"
.venv/bin/ruff format -q src/shudata/db/migrations/versions/ || true
echo "regenerated src/shudata/db/migrations/versions/0001_initial.py"
