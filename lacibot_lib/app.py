"""Gradio 6 apps: the Week 4 notes bot and the Week 6 Hungarian Laci-bot.

``gr.ChatInterface`` with the Gradio 6 message format (openai-style dicts), streaming answers with their
sources underneath, example questions, a line saying which backend answers, an optional warning line (e.g. a
knowledge base that loaded only in part), and a clear button. Apps bind to 127.0.0.1 unless a host is given
explicitly. Whatever goes wrong inside one answer is shown as a readable "⚠️ …" reply, never a raw error.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from .bot import DocumentBot, render_answer

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
log = logging.getLogger(__name__)

# Answers mostly wait on the network (a remote backend) or take milliseconds (extractive answers), so many run at
# once: a user whose backend hangs must not hold the queue for everybody else.
APP_CONCURRENCY = 16
# The local model batches the requests that reach it together (lacibot_lib.batching), so the queue lets up to one
# full batch through at once instead of serving chats one by one.
LOCAL_CONCURRENCY = 32
# Streaming sends the whole growing answer to the browser on every update; with 20 chats at once, one update per
# token costs the 2-core machine as much CPU as the model itself. Four updates a second still read as streaming.
STREAM_EVERY_S = 0.25
FAILED_EN = "⚠️ Something went wrong while answering ({error}). Please try again."


@dataclass
class AppText:
    title: str
    description: str
    placeholder: str
    sources_label: str
    examples: list[str]
    clear_label: str = "Clear"
    backend_label: str = "Backend"
    offline_label: str = "offline · answers quoted from the documents"
    failed: str = FAILED_EN


NOTES_TEXT = AppText(
    title="Chat with the course notes",
    description="Ask about transformers, prompting, fine-tuning, PEFT, evaluation, RAG or CUDA. Answers come from "
                "the course notes PDF and cite their pages.",
    placeholder="Ask a question about the course notes…", sources_label="Sources",
    examples=["How many parameters does LoRA add per adapted matrix?", "How does ROUGE-L differ from ROUGE-1?",
              "Why must GPU code be synchronised before timing it?", "What is maximal marginal relevance?"])


def build_chat_app(bot: DocumentBot, text: AppText, backend_note: str | None = None, warning: str | None = None):
    """A ``gr.Blocks`` app around ``bot``; the chat function is exposed as ``/respond``. ``warning`` (e.g. files
    of the knowledge base that could not be loaded) is shown as a visible line above the chat."""
    import gradio as gr

    def respond(message, history):
        shown, sent_at = "", 0.0
        try:
            for answer in bot.stream(message, history):
                shown = render_answer(answer, text.sources_label)
                if time.monotonic() - sent_at >= STREAM_EVERY_S:  # coalesce tokens: one update per interval
                    sent_at = time.monotonic()
                    yield shown
            yield shown
        except Exception as err:  # a bug or a retrieval failure: one readable reply, the app stays up
            log.exception("answering %r failed", (message or "")[:200])
            failure = text.failed.format(error=err.__class__.__name__)
            yield f"{shown}\n\n{failure}" if shown else failure

    with gr.Blocks(title=text.title) as demo:
        gr.Markdown(f"# {text.title}\n{text.description}")
        if warning:
            gr.Markdown(f"⚠️ {warning}", elem_id="kb-warning")
        label = bot.backend.label if bot.backend is not None else text.offline_label
        gr.Markdown(f"**{text.backend_label}:** {label}" + (f" — _{backend_note}_" if backend_note else ""),
                    elem_id="backend-indicator")
        chatbot = gr.Chatbot(height=420, label=text.title, elem_id="chat")
        local = bot.backend is not None and getattr(bot.backend, "name", "") == "local"
        chat = gr.ChatInterface(respond, chatbot=chatbot, examples=text.examples or None,
                                textbox=gr.Textbox(placeholder=text.placeholder, label=None, elem_id="question"),
                                api_name="respond", fill_height=False,
                                concurrency_limit=LOCAL_CONCURRENCY if local else "default")
        gr.ClearButton([chatbot, chat.textbox], value=text.clear_label, elem_id="clear")
    return demo


def launch(demo, host: str = "127.0.0.1", port: int | None = None, block: bool = True):
    """Start the app (loopback by default); returns the URL when ``block`` is False."""
    demo.queue(default_concurrency_limit=APP_CONCURRENCY)
    # inline=False: in a notebook Gradio would otherwise embed an <iframe> that is dead once the app closes.
    _, url, _ = demo.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=True,
                            show_error=True, inline=False)
    return url


LACI_TEXT = AppText(
    title="Laci-bot — szakmai gyakorlat",
    description="Kérdezz a BME AUT szakmai gyakorlatáról (BSc/MSc, határidők, dokumentumok, cégek, külföld). "
                "A válaszok a projekt tudásbázisából jönnek, forrásmegjelöléssel. A tudásbázis a 2023/2024-es "
                "tanévet írja le: mindig ellenőrizd a hivatalos oldalt (aut.bme.hu/SzakmaiGyakorlat).",
    placeholder="Írd be a kérdésed…", sources_label="Források", clear_label="Törlés", backend_label="Válaszol",
    offline_label="offline · a tudásbázisból idézett válaszok",
    failed="⚠️ Hiba történt a válaszadás közben ({error}). Kérlek, próbáld újra.",
    examples=["Mennyi ideig tart a BSc szakmai gyakorlat?", "Mi a VIAUAS00 tárgy?",
              "Kell-e fizetést kapnom a gyakorlat alatt?", "Can I do the internship abroad?"])
