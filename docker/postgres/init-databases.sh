#!/usr/bin/env bash
# Runs once, on an empty Postgres volume (the image's /docker-entrypoint-initdb.d hook): one
# database and one owner per application, with the passwords from .env, so Airflow and Label
# Studio cannot read each other's tables.
set -euo pipefail

create() {
  local db="$1" user="$2" password="$3"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v db="$db" -v usr="$user" -v pw="$password" <<'SQL'
CREATE ROLE :"usr" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"usr";
SQL
}

create airflow airflow "${AIRFLOW_DB_PASSWORD:?}"
create labelstudio labelstudio "${LABEL_STUDIO_DB_PASSWORD:?}"
