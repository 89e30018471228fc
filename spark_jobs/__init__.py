"""storeheat: spark_jobs."""
