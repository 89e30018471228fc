"""``spark-submit`` of storeheat jobs from Airflow, with the project's jars and settings.

:class:`StoreheatSparkSubmitOperator` is the provider's ``SparkSubmitOperator`` (so the same
DAG drives ``local[*]`` here and a cluster in production: the master comes from the
``spark_default`` connection) plus what every storeheat job needs, resolved when the task
runs, never when the DAG file is parsed:

- the application file of a job *module* (``"spark_jobs.gold"``), found by import spec;
- the Delta and Kafka-connector jars from the project's jar cache
  (:func:`spark_jobs.session.spark_jars`) as ``--jars``, and the Delta SQL settings;
- ``PYSPARK_PYTHON`` / ``PYSPARK_DRIVER_PYTHON`` = the interpreter running Airflow (the
  project's virtualenv), its ``bin`` first on ``PATH`` so ``spark-submit`` is found, and
  ``STOREHEAT_SPARK_MASTER`` = the connection's master, so the job's session factory uses
  the master Airflow chose instead of its own default.

A job that writes a JSON *report* (the quality gate) gets ``--report <file>``; when the job
fails and the report says why, the task fails with that report as its message, without
retries (retrying cannot change the data).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Spark settings every storeheat job needs before its session exists (Delta's SQL support).
DELTA_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.session.timeZone": "UTC",
    # No web UI: it would take a port (4040+) on a machine shared by many runs.
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
#: Extra settings for a ``local[...]`` master (driver on loopback only).
LOCAL_CONF: dict[str, str] = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


_LOG4J2 = """\
# Written by storeheat for spark-submit'd jobs: warnings only, on stderr (the task log).
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
"""


def log4j_conf() -> dict[str, str]:
    """Driver JVM options pointing log4j at a WARN-level config (INFO floods the task log)."""
    from storeheat.paths import warehouse_dir

    path = warehouse_dir() / "log4j2-submit.properties"
    if not path.exists() or path.read_text() != _LOG4J2:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_LOG4J2)
    return {"spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{path}"}


def job_application(module: str) -> str:
    """The file ``spark-submit`` runs for job module ``module`` (e.g. ``"spark_jobs.gold"``).

    Args:
        module: Dotted name of a module with an ``if __name__ == "__main__"`` entry point.

    Returns:
        Absolute path of its source file.

    Raises:
        ModuleNotFoundError: The module (or its package) is not installed.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise ModuleNotFoundError(f"spark job module {module!r} has no Python source file",
                                  name=module)
    return spec.origin


def submit_jars() -> str:
    """Comma-separated jar files for ``--jars`` (resolved once into the project's jar cache).

    Raises:
        storeheat.services.exceptions.JarFetchError: not cached and Maven Central unreachable.
    """
    from spark_jobs.session import spark_jars

    return ",".join(str(j) for j in spark_jars())


def submit_env(master: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment additions for the ``spark-submit`` process of a storeheat job.

    Args:
        master: The Spark master from the connection (passed on to the session factory).
        base: Variables the task set explicitly (they win).

    Returns:
        Variables to add to the task's environment.
    """
    python = sys.executable
    env = {
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", python),
        "PYSPARK_DRIVER_PYTHON": os.environ.get("PYSPARK_DRIVER_PYTHON", python),
        "PATH": str(Path(python).parent) + os.pathsep + os.environ.get("PATH", ""),
        "STOREHEAT_SPARK_MASTER": master,
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
    }
    env.update(base or {})
    return env


class StoreheatSparkSubmitOperator(SparkSubmitOperator):
    """Submit a storeheat job module with the project's jars, settings and interpreter.

    Args:
        job: Dotted module name of the job (its file becomes the application).
        application_args: Job arguments (templated, e.g. the data interval).
        report: Pass ``--report <file>`` to the job and turn a failed job's report into the
            task's error message (see the module docstring).
        conn_id: Spark connection (``spark_default``: ``local[*]`` in the local runner).
        conf: More Spark settings; they win over :data:`DELTA_CONF`.
        **kwargs: Anything else ``SparkSubmitOperator`` takes.
    """

    def __init__(
        self,
        *,
        job: str,
        application_args: Sequence[str] | None = None,
        report: bool = False,
        conn_id: str = "spark_default",
        conf: Mapping[str, Any] | None = None,
        driver_memory: str = "1g",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("name", f"storeheat-{job.rsplit('.', 1)[-1]}")
        super().__init__(
            application="",  # resolved in execute(): finding it must not happen at parse time
            application_args=list(application_args or []),
            conn_id=conn_id,
            conf=dict(conf or {}),
            driver_memory=driver_memory,
            **kwargs,
        )
        self.job = job
        self.report = report

    def execute(self, context: Context) -> None:
        """Resolve application, jars, conf and environment, then run ``spark-submit``.

        Raises:
            airflow.sdk.exceptions.AirflowFailException: The job failed and wrote a report
                (a quality gate that did not pass): no retry.
            airflow.exceptions.AirflowException: ``spark-submit`` failed otherwise.
        """
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        self.application = job_application(self.job)
        hook = self._get_hook()
        master = str(hook._connection["master"])  # what the connection resolved to
        conf = dict(DELTA_CONF)
        if master.startswith("local"):
            conf.update(LOCAL_CONF)
            conf.update(log4j_conf())
        conf.update(self.conf or {})
        self.conf = conf
        self.jars = ",".join(j for j in (submit_jars(), self.jars or "") if j)
        self.env_vars = submit_env(master, self.env_vars)
        report_file: Path | None = None
        if self.report:
            handle, name = tempfile.mkstemp(prefix="storeheat-report-", suffix=".json")
            os.close(handle)
            report_file = Path(name)
            report_file.unlink()  # the job creates it; its absence means the job never got far
            self.application_args = [*(self.application_args or []), "--report",
                                     str(report_file)]
        self._hook = None  # rebuild with the resolved settings
        try:
            super().execute(context)
        except AirflowException as exc:
            summary = _failed_report(report_file)
            if summary is not None:
                raise AirflowFailException(summary) from exc
            raise
        finally:
            if report_file is not None:
                summary = _report_text(report_file)
                if summary:
                    self.log.info("%s", summary)
                report_file.unlink(missing_ok=True)


def _report_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return str(data.get("text") or "") or None


def _failed_report(path: Path | None) -> str | None:
    """The readable text of a job report that says the job failed, else None."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("passed", True):
        return None
    return str(data.get("text") or "the job reported a failure without details")
