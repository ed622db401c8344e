"""The shared prologue of every lab: settings, seed, smoke mode, and one line on the machine and packages.

    settings = start_lab(smoke=SMOKE, seed=SEED, model=MODEL)

replaces the set-up cell each week used to copy. Numbers in a lab depend on the machine (EVALUATION.md §10),
so the prologue prints which one this run is on.
"""
from __future__ import annotations

from .settings import Settings, get_settings, package_versions
from .timing import describe_machine

LAB_PACKAGES = ("torch", "transformers", "peft", "datasets", "langchain-core", "gradio")


def start_lab(smoke: bool = False, seed: int | None = None, model: str | None = None,
              packages: tuple[str, ...] = LAB_PACKAGES, **overrides) -> Settings:
    """Settings for a lab run (``smoke`` is on if the parameter or ``LACIBOT_SMOKE`` says so), the global seed
    set for Python, NumPy and torch, and a two-line header printed."""
    import transformers

    settings = get_settings(model=model, seed=seed, **overrides)
    settings = settings.with_overrides(smoke=bool(smoke or settings.smoke))
    transformers.set_seed(settings.seed)
    versions = ", ".join(f"{name} {version}" for name, version in package_versions(packages).items())
    print(f"machine: {describe_machine()}\npackages: {versions}\n"
          f"run: {'smoke (tiny, for the tests)' if settings.smoke else 'full'} · random seed {settings.seed} · "
          f"model {settings.model}")
    return settings
