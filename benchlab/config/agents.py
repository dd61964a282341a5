"""Command agents: any agent CLI given as a command template in ``models.yaml``'s
``agents:`` section (see :mod:`benchlab.agents.command` for how one runs)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StrictStr, model_validator

from benchlab.config.base import Frozen

VARIABLES = ("base_url", "model", "prompt", "prompt_file", "workspace", "trial_dir")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class CommandAgent(Frozen):
    """An agent CLI given as a command template."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    """The harness name, as given to ``--agent``."""

    argv: tuple[StrictStr, ...] = Field(min_length=1)
    """Program and arguments, with ``{variable}`` placeholders."""

    env: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    """Extra environment variables, with the same placeholders."""

    prompt_via: Literal["stdin", "file", "arg"] = "stdin"
    """How the prompt reaches the command: on stdin, only in ``{prompt_file}``, or as
    an argument (in place of ``{prompt}``, else appended as the last one)."""

    version: StrictStr = "unversioned"
    """The version recorded with each trial (``agent.version``)."""

    paths: tuple[StrictStr, ...] = ()
    """Host paths the command runs from (mounted read-only in a container sandbox)."""

    @model_validator(mode="after")
    def _known_placeholders(self) -> CommandAgent:
        for text in (*self.argv, *self.env.values()):
            unknown = sorted(set(PLACEHOLDER.findall(text)) - set(VARIABLES))
            if unknown:
                valid = ", ".join(f"{{{v}}}" for v in VARIABLES)
                raise ValueError(
                    f"unknown placeholder {{{unknown[0]}}} in {text!r}; valid: {valid}"
                )
        return self
