"""The inference engine: finding and running llama.cpp's ``llama-server``."""

from benchlab.engine.argv import build_argv
from benchlab.engine.binary import find_llama_server, server_version
from benchlab.engine.probe import ProbeResult, ProbeSettings, Stat, run_probe
from benchlab.engine.server import LlamaServer, ServerStats
from benchlab.engine.templates import TOOLS_TEMPLATE, template_path

__all__ = [
    "TOOLS_TEMPLATE",
    "LlamaServer",
    "ProbeResult",
    "ProbeSettings",
    "ServerStats",
    "Stat",
    "build_argv",
    "find_llama_server",
    "run_probe",
    "server_version",
    "template_path",
]
