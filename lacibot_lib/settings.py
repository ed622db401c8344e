"""One entrance for configuration: environment variables → a frozen ``Settings`` object.

Every notebook, script and test reads configuration through :func:`get_settings`, so a user changes a model,
a device or an endpoint in one place (the environment) instead of editing code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_MODEL = "smollm2-135m-instruct"
PACKAGED_EMBEDDINGS = "multilingual-e5-small"


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_number(name: str, default, kind, minimum=None):
    """A numeric environment variable; a malformed or too small value names the variable and what it needs."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = kind(text.strip())
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"{name} must be {what}, got {text!r}; unset it to use the default {default}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {text!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Configuration shared by the whole project.

    Environment variables (all optional):
      LACIBOT_MODEL    packaged alias, Hugging Face id (needs internet) or local folder
      LACIBOT_DEVICE   auto | cpu | cuda | cuda:N | mps   (auto tries cuda → mps → cpu)
      LACIBOT_CACHE    where converted models and vector stores live (default ~/.cache/lacibot)
      LACIBOT_SEED     random seed (default 42)
      LACIBOT_SMOKE    1 → labs shrink themselves to a few-second smoke run (used by the tests)
      LACIBOT_EMBEDDINGS  packaged multilingual-e5-small (default) or a sentence-transformers id / folder
      LACIBOT_BACKEND  chat backend: local | openai  (openai also serves any OpenAI-compatible server)
      OPENAI_API_KEY, OPENAI_BASE_URL, LACIBOT_OPENAI_MODEL (default gpt-3.5-turbo)
      LACIBOT_TIMEOUT_S (total seconds one answer may take, retries included; default 60),
      LACIBOT_MAX_RETRIES (default 2)
    A malformed value fails with a ``ValueError`` that names the variable.
    """

    model: str = DEFAULT_MODEL
    device: str = "auto"
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "lacibot")
    seed: int = 42
    embeddings: str = PACKAGED_EMBEDDINGS
    smoke: bool = False
    backend: str = "local"
    openai_api_key: str | None = field(default=None, repr=False)  # never printed
    openai_base_url: str | None = None
    openai_model: str = "gpt-3.5-turbo"
    request_timeout_s: float = 60.0
    max_retries: int = 2

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        cache = env.get("LACIBOT_CACHE") or str(Path.home() / ".cache" / "lacibot")
        return cls(
            model=env.get("LACIBOT_MODEL") or DEFAULT_MODEL,
            device=env.get("LACIBOT_DEVICE") or "auto",
            cache_dir=Path(cache).expanduser(),
            seed=_env_number("LACIBOT_SEED", 42, int),
            embeddings=env.get("LACIBOT_EMBEDDINGS") or PACKAGED_EMBEDDINGS,
            smoke=_env_bool("LACIBOT_SMOKE"),
            backend=(env.get("LACIBOT_BACKEND") or "local").lower(),
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_model=env.get("LACIBOT_OPENAI_MODEL") or "gpt-3.5-turbo",
            request_timeout_s=_env_number("LACIBOT_TIMEOUT_S", 60.0, float, minimum=0.1),
            max_retries=_env_number("LACIBOT_MAX_RETRIES", 2, int, minimum=0),
        )

    def with_overrides(self, **changes) -> "Settings":
        """A copy with some fields changed (notebook parameters use this)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with optional explicit overrides (``None`` means "keep")."""
    return Settings.from_env().with_overrides(**overrides)


def repo_root() -> Path:
    """The repository folder (where ``data/`` and ``labs/`` live)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return repo_root() / "data"


def package_versions(names=("torch", "transformers", "peft", "datasets", "evaluate", "langchain", "gradio")) -> dict:
    """Installed versions of the packages a lab depends on (printed at the top of each notebook)."""
    import importlib.metadata

    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
