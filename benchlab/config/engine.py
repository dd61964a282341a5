"""One llama-server configuration: the flags of one engine, and the image per backend."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictStr, model_validator

from benchlab.config.base import Frozen

Backend = Literal["cpu", "cuda", "rocm", "vulkan"]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
CtxSize = Annotated[int, Field(ge=256)]


def _on_off(value: Any) -> Any:
    # YAML 1.1 reads an unquoted on/off as a boolean.
    return ("on" if value else "off") if isinstance(value, bool) else value


FlashAttn = Annotated[Literal["on", "off", "auto"], BeforeValidator(_on_off)]
Args = tuple[StrictStr, ...]

LLAMA_CPP_BUILD = "b12464"
"""The llama.cpp release the default images are pinned to."""

DEFAULT_IMAGES: dict[str, str] = {
    "cpu": f"ghcr.io/ggml-org/llama.cpp:server-{LLAMA_CPP_BUILD}",
    "cuda": f"ghcr.io/ggml-org/llama.cpp:server-cuda-{LLAMA_CPP_BUILD}",
    "rocm": f"ghcr.io/ggml-org/llama.cpp:server-rocm-{LLAMA_CPP_BUILD}",
    "vulkan": f"ghcr.io/ggml-org/llama.cpp:server-vulkan-{LLAMA_CPP_BUILD}",
}
"""The official llama.cpp server image of each backend, at a pinned tag."""


class EngineConfig(Frozen):
    """llama-server settings for one engine configuration; every flag is passed explicitly."""

    backend: Backend = "cpu"
    """Which llama.cpp build to use."""

    image: str | None = None
    """Container image for the docker launcher; default the backend's pinned official image."""

    ctx_size: CtxSize | None = None
    """Context size in tokens, shared by all slots; default the model's ``context_size``."""

    parallel: PositiveInt = 1
    """Number of server slots: trials that run through this server at once."""

    threads: PositiveInt = 2
    """Threads for generation."""

    threads_batch: PositiveInt = 2
    """Threads for prompt processing."""

    batch_size: PositiveInt = 2048
    """Logical batch size (-b)."""

    ubatch_size: PositiveInt = 512
    """Physical batch size (-ub)."""

    n_gpu_layers: NonNegativeInt = 0
    """Layers offloaded to the GPU (-ngl)."""

    flash_attn: FlashAttn = "off"
    """Flash attention."""

    cache_type_k: str = "f16"
    """KV cache type for K."""

    cache_type_v: str = "f16"
    """KV cache type for V."""

    extra_args: Args = ()
    """Further llama-server arguments, passed as given."""

    @model_validator(mode="before")
    @classmethod
    def _pin_image(cls, data: Any) -> Any:
        # Resolved here so that the config, and so a cell's id, names the exact image.
        if isinstance(data, dict) and data.get("image") is None:
            image = DEFAULT_IMAGES.get(str(data.get("backend", "cpu")))
            if image is not None:
                data = {**data, "image": image}
        return data
