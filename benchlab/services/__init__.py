"""Local services benchlab starts and stops itself: S3, MLflow, Prefect, processes."""
