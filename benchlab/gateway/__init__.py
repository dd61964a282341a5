"""The recording gateway: an OpenAI-compatible proxy with one route per trial.

Every model call of an agent goes through it; it records each call as a
:class:`benchlab.results.ModelCall`, passes streams through unbuffered, and refuses
calls once a trial's limits are reached.
"""

from benchlab.gateway.recorder import Limits, TrialRecorder
from benchlab.gateway.server import Gateway

__all__ = ["Gateway", "Limits", "TrialRecorder"]
