"""Constrained JSON output: the judge endpoint decodes against each signature's schema.

DSPy's JSONAdapter sends a JSON schema only to models its catalogue knows, and drops
field constraints (``ge``/``le``, ``max_length``) from it. A local llama-server knows
neither, but enforces any schema it is sent (``response_format: json_schema``) with a
grammar, so a tiny model cannot answer outside 1-5 or ramble past the rationale limit.

An endpoint that enforces nothing may still answer ``true`` for a score or ``null``
for a rationale; DSPy's lax parsing would turn those into 1 and ``"None"``, a fake
verdict, so the adapter refuses them and the criterion is could-not-score.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import dspy
from dspy.utils.exceptions import AdapterParseError
from pydantic import Field, create_model


def output_schema(signature: type[dspy.Signature], max_text_chars: int) -> dict[str, Any]:
    """The JSON schema of a signature's outputs, constraints kept, strings bounded.

    Args:
        signature: The judge's signature.
        max_text_chars: Upper bound on every string output, so decoding always ends.
    """
    fields: dict[str, Any] = {}
    for name, info in signature.output_fields.items():
        annotation: Any = info.annotation
        constraints = list(info.metadata)
        if annotation is str:
            constraints.append(Field(max_length=max_text_chars))
        typed = Annotated[(annotation, *constraints)] if constraints else annotation
        fields[name] = (typed, Field(description=info.json_schema_extra.get("desc", "")))
    schema = create_model(f"{signature.__name__}Output", **fields).model_json_schema()
    schema.pop("title", None)
    schema["additionalProperties"] = False
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def response_format(signature: type[dspy.Signature], max_text_chars: int) -> dict[str, Any]:
    """The OpenAI ``response_format`` asking for the signature's outputs, strictly."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": signature.__name__,
            "strict": True,
            "schema": output_schema(signature, max_text_chars),
        },
    }


class ConstrainedJSONAdapter(dspy.JSONAdapter):
    """A JSONAdapter that always asks the endpoint for schema-constrained output."""

    def __init__(self, max_text_chars: int = 400) -> None:
        super().__init__()
        self.max_text_chars = max_text_chars

    def _prepare_response_format(
        self, lm: Any, lm_kwargs: dict[str, Any], signature: type[dspy.Signature]
    ) -> None:
        lm_kwargs["response_format"] = response_format(signature, self.max_text_chars)

    def parse(self, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
        """The outputs in ``completion``, refusing values only lax parsing would accept.

        Raises:
            AdapterParseError: An output is ``null``, or a boolean where a number is due.
        """
        fields = super().parse(signature, completion)
        raw = _raw_object(completion)
        for name, info in signature.output_fields.items():
            if name in raw:
                value = raw[name]
                if value is None or (isinstance(value, bool) and info.annotation is not bool):
                    raise AdapterParseError(
                        adapter_name=type(self).__name__,
                        signature=signature,
                        lm_response=completion,
                        message=f"field {name}: expected {_type_name(info.annotation)}, "
                        f"got {json.dumps(value)}",
                    )
        return fields


def _raw_object(completion: str) -> dict[str, Any]:
    # The whole answer, else the outermost {...} in it (an object wrapped in prose or a
    # code fence); an object that needs repairing is left to DSPy's checks.
    for text in (completion, completion[completion.find("{") : completion.rfind("}") + 1]):
        try:
            raw = json.loads(text)
        except ValueError:
            continue
        if isinstance(raw, dict):
            return raw
    return {}


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", str(annotation))
