"""Task bodies of the Airflow DAGs in ``dags/``.

DAG files hold no logic: each task is one call into this package (or one ``spark-submit`` of
a job module). Modules that run Spark (:mod:`.quality_gate`, :mod:`.tiering`,
:mod:`.maintenance`) are ``spark-submit`` applications with a ``main(argv)``; their
DataFrame logic is importable for tests. :mod:`.spark` holds the submit operator that
hands every job the project's jars and configuration; :mod:`.assets` the Assets that chain
the DAGs. Nothing here does work at import time.
"""
