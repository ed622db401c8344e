"""lacibot_lib — the one library every Laci-bot lab imports. Modules, bottom-up (a module imports only from its
own layer or below; ``tests/test_layout.py`` checks that nothing imports in a circle):

* configuration and results: ``settings``, ``results``, ``stats``, ``textchecks``, ``textfiles`` (decoding users'
  text files safely), ``timing``, ``plotting``
* models and data: ``models``, ``data``
* Weeks 1–2 building blocks: ``prompts``, ``generation``, ``metrics``, ``summarize``, ``internals``, ``finetune``
* Week 3: ``perf`` (the timing suite), ``doctor`` (the environment diagnosis)
* RAG: ``retrieval`` (``base``: the hits contract, ``embeddings``, ``documents``, ``vectorstore``, ``kb``,
  ``hybrid``, ``evaluation``, ``translate``: the English–Hungarian dictionary layer)
* the bots and apps: ``batching`` (concurrent chats in shared ``generate`` calls), ``chat``, ``bot``,
  ``notes_bot``, ``laci``, ``app``
* running the labs: ``lab`` (the shared prologue), ``runner``, ``cli``, ``selfcheck`` (the students' self-checks
  and concept quizzes)

Import them directly, e.g. ``from lacibot_lib import models`` or ``from lacibot_lib.retrieval import hybrid``.
"""

__version__ = "0.2.0"
