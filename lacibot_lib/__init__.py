"""lacibot_lib — the one library every Laci-bot lab imports.

Modules are organised by what a student looks for: ``settings``, ``models``, ``prompts``, ``generation``,
``data``, ``metrics``, ``results``, ``attention``, ``plotting``, ``runner`` (and later ``finetune``,
``timing``, ``rag``, ``chat``, ``app``). Import them directly, e.g. ``from lacibot_lib import models``.
"""

__version__ = "0.1.0"
