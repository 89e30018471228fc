#!/usr/bin/env bash
# One-shot set-up before the Airflow components start: migrate the metadata database on
# Postgres, and write the admin password from .env where the simple auth manager reads it
# (instead of the random one it would generate inside a container nobody looks into).
set -euo pipefail

airflow db migrate

python - <<'PY'
import json, os
path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as handle:
    json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)
os.chmod(path, 0o600)
PY
echo "airflow: database migrated, admin password set"
