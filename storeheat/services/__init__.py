"""Local runners of the real services storeheat needs (Kafka, Airflow, Label Studio)."""
