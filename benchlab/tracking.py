"""Where MLflow keeps its data: a sqlite file under the data directory by default."""

from __future__ import annotations

from pathlib import Path

from benchlab.settings import Settings


def tracking_uri(settings: Settings) -> str:
    """The MLflow tracking URI: the configured one, else sqlite under the data directory."""
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    return f"sqlite:///{settings.state_dir / 'mlflow.db'}"


def artifact_root(settings: Settings) -> Path:
    """Where artifacts go when the tracking store is the local sqlite file."""
    return settings.state_dir / "mlartifacts"


def setup_tracking(settings: Settings) -> str:
    """Point MLflow at the tracking store and select benchlab's experiment.

    Returns:
        The experiment id.
    """
    import mlflow

    uri = tracking_uri(settings)
    if uri.startswith("sqlite:///"):
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(settings.mlflow_experiment)
    if experiment is None:
        location = artifact_root(settings).as_uri() if uri.startswith("sqlite:") else None
        experiment_id = mlflow.create_experiment(
            settings.mlflow_experiment, artifact_location=location
        )
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return str(experiment_id)
