"""Command agents: any agent CLI given as a command template in ``models.yaml``'s
``agents:`` section (see :mod:`benchlab.agents.command` for how one runs)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StrictStr, model_validator

from benchlab.config.base import Frozen

VARIABLES = ("base_url", "model", "prompt", "prompt_file", "workspace", "trial_dir")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
INTERPRETERS = re.compile(r"^(?:.*/)?(?:[a-z]*sh|python[0-9.]*|node|perl|ruby|php)$")
"""Programs whose ``-c``/``-e`` argument is code: a prompt placed in it would run."""
CODE_OPTION = re.compile(r"^-[A-Za-z]*[ce]$")


class CommandAgent(Frozen):
    """An agent CLI given as a command template."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    """The harness name, as given to ``--agent``."""

    argv: tuple[StrictStr, ...] = Field(min_length=1)
    """Program and arguments, with ``{variable}`` placeholders."""

    env: dict[Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], StrictStr] = Field(
        default_factory=dict
    )
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

    @model_validator(mode="after")
    def _prompt_not_code(self) -> CommandAgent:
        # The prompt is the task's text: inside a shell script it would be run, not read.
        if INTERPRETERS.match(self.argv[0]):
            for option, code in zip(self.argv, self.argv[1:], strict=False):
                if CODE_OPTION.match(option) and "{prompt}" in code:
                    raise ValueError(
                        f"{{prompt}} inside the code of {self.argv[0]} {option} would run as "
                        "code; pass it as its own argument, on stdin or via {prompt_file}"
                    )
        return self
