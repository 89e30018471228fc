# syntax=docker/dockerfile:1
# The storeheat image: the camera worker, the Airflow 3 components, the Spark master/worker and
# the one-shot topic set-up all run from it, so every container has the same pinned Python
# stack (requirements/lock.txt), the same pyspark as the Spark cluster, and the same code as a
# local run. Built by docker-compose.yml; see .env.example for the settings.
FROM python:3.11-slim-bookworm

# Java 17 runs Spark (driver, master, worker); Maven resolves the Delta / Spark-Kafka jars at
# build time; tini reaps the processes Airflow's LocalExecutor and Spark fork.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless maven tini procps \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_LINK_MODE=copy \
    JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    STOREHEAT_HOME=/opt/storeheat/.state \
    AIRFLOW_HOME=/opt/airflow

WORKDIR /opt/storeheat

# Dependencies first, so a code change does not reinstall the stack.
COPY requirements/ requirements/
COPY docker/requirements-docker.txt docker/requirements-docker.txt
RUN pip install --no-cache-dir uv==0.13.8 \
 && uv pip install --system --no-cache -r requirements/lock.txt \
        --excludes requirements/excludes.txt --overrides requirements/overrides.txt \
 && uv pip install --system --no-cache -r docker/requirements-docker.txt

COPY pyproject.toml README.md ./
COPY storeheat/ storeheat/
COPY streaming/ streaming/
COPY spark_jobs/ spark_jobs/
COPY training/ training/
COPY annotation/ annotation/
COPY data_contracts/ data_contracts/
COPY benchmarks/ benchmarks/
COPY dags/ dags/
COPY configs/ configs/
RUN uv pip install --system --no-cache --no-deps -e .

# Resolve every JVM jar now, so containers start offline and identical.
RUN storeheat services fetch

RUN useradd --uid 50000 --gid 0 --home-dir /opt/storeheat --no-create-home storeheat \
 && mkdir -p /opt/airflow /data/video/hot /opt/storeheat/.state/journal \
 && chown -R 50000:0 /opt/storeheat/.state /opt/airflow /data
USER 50000

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["storeheat", "--help"]
