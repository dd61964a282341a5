"""The inference engine: finding and running llama.cpp's ``llama-server``."""

from benchlab.engine.argv import build_argv
from benchlab.engine.binary import find_llama_server, server_version
from benchlab.engine.server import LlamaServer, ServerStats
from benchlab.engine.templates import TOOLS_TEMPLATE, template_path

__all__ = [
    "TOOLS_TEMPLATE",
    "LlamaServer",
    "ServerStats",
    "build_argv",
    "find_llama_server",
    "server_version",
    "template_path",
]
