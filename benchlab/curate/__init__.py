"""The curate stage: trial runs into versioned MLflow evaluation datasets."""
