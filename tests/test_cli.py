"""The ``lacibot`` command line: expected problems end with one line and exit status 2, never a traceback."""
import shutil
import socket
import subprocess
import sys

import pytest

from lacibot_lib import app, cli, settings

KB = settings.data_dir() / "szakmai_gyakorlat"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_llm(monkeypatch):
    """Make loading the local LLM (≈800 MB) fail loudly, so a test proves a command never does it."""
    def refuse(*args, **kwargs):
        raise AssertionError("the local LLM was loaded")

    monkeypatch.setattr("lacibot_lib.chat.local_chat_model", refuse)
    monkeypatch.setattr("lacibot_lib.models.load_model", refuse)
    monkeypatch.delenv("LACIBOT_BACKEND", raising=False)


# --- lacibot check ---------------------------------------------------------------------------------------------

def test_check_clean_data_exits_0(capsys):
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "gyik.csv: " in out and "dialogues bundled data/dialogues: train " in out
    assert out.rstrip().endswith("lacibot check: OK, no problems")


def test_check_lists_every_problem_and_exits_1(tmp_path, capsys):
    kb = tmp_path / "kb"
    kb.mkdir()
    shutil.copy(KB / "gyik.csv", kb)
    (kb / "notes.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
    bad = tmp_path / "dialogues.jsonl"
    bad.write_text('{"dialogue": "x", "summary": "y"}\n{"dialogue": "x"\n', encoding="utf-8")
    assert cli.main(["check", "--kb", str(kb), "--data", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "gyik.csv: " in out  # what loaded is still shown
    assert "problem: knowledge base: notes.csv: unknown CSV layout" in out
    assert f"problem: dialogues: {bad}, line 2: not valid JSON" in out
    assert "lacibot check: 2 problem(s)" in out


def test_check_missing_source_is_fatal(tmp_path, capsys):
    assert cli.main(["check", "--kb", str(tmp_path / "nope"), "--data", str(tmp_path / "nope.jsonl")]) == 2
    captured = capsys.readouterr()
    assert "error: knowledge base: " in captured.out and "knowledge-base folder not found" in captured.out
    assert "error: dialogues: local path does not exist" in captured.out
    assert "lacibot check: 2 fatal error(s)" in captured.err


# --- lacibot chat ----------------------------------------------------------------------------------------------

def test_chat_on_a_busy_port_is_one_line_before_loading_anything(no_llm, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["chat", "--port", str(port)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"lacibot chat: port {port} on 127.0.0.1 is in use — is another lacibot chat running? "
                            f"Use --port N\n")
    assert "Serving" not in captured.out


def test_chat_port_out_of_range(no_llm, capsys):
    assert cli.main(["chat", "--port", "70000"]) == 2
    assert "--port must be between 1 and 65535, got 70000" in capsys.readouterr().err


def test_chat_launch_failure_is_one_line_and_serving_is_not_printed(no_llm, monkeypatch, capsys):
    """The port can be taken while the app loads: Gradio's OSError becomes one line too."""
    def taken(*args, **kwargs):
        raise OSError("Cannot find empty port in range: 7861-7861. You can specify a different port by setting …")

    monkeypatch.setattr(app, "launch", taken)
    monkeypatch.setattr("lacibot_lib.laci.laci_retriever", lambda: None)  # no index needed to reach launch
    assert cli.main(["chat", "--app", "laci", "--port", str(_free_port())]) == 2
    captured = capsys.readouterr()
    assert "could not start the app on 127.0.0.1:" in captured.err
    assert "(Cannot find empty port in range: 7861-7861)" in captured.err and "Serving" not in captured.out


def test_chat_laci_offline_serves_without_loading_the_llm(no_llm, monkeypatch):
    import contextlib
    import io

    from gradio_client import Client

    port = _free_port()
    seen = {}
    out = io.StringIO()

    def ask_then_stop(demo):
        # The app is up when this runs: "Serving" must already be printed, and it answers from the knowledge base.
        seen["out"] = out.getvalue()
        seen["reply"] = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            "Hány hétig tart a BSc mérnökinformatikus szakmai gyakorlat?", api_name="/respond")

    monkeypatch.setattr(cli, "_serve_until_stopped", ask_then_stop)
    # Not capsys: uvicorn's logging setup closes the handlers of earlier libraries (absl, via ROUGE), and absl's
    # handler closes its stream unless it is the current sys.stderr, which capsys would have swapped out.
    with contextlib.redirect_stdout(out):
        assert cli.main(["chat", "--app", "laci", "--port", str(port)]) == 0
    assert seen["out"].startswith(f"Serving laci on http://127.0.0.1:{port}")
    assert "8" in seen["reply"] and "gyik.csv" in seen["reply"]


def test_chat_laci_without_openai_key_answers_offline(no_llm, monkeypatch, capsys):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LACIBOT_BACKEND", "openai")
    backend, note = cli._laci_backend(None)
    assert backend is None and note.startswith("The OpenAI backend needs OPENAI_API_KEY")
    assert note.endswith("Answering offline from the knowledge base.") and "local model" not in note


# --- lacibot finetune ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    (["--epochs", "0"], "FinetuneConfig.epochs must be at least 1, got 0 (set by --epochs)"),
    (["--epochs", "-1"], "FinetuneConfig.epochs must be at least 1, got -1 (set by --epochs)"),
    (["--batch-size", "0"], "FinetuneConfig.batch_size must be at least 1, got 0 (set by --batch-size)"),
    (["--max-length", "8"], "FinetuneConfig.max_length must be at least 16, got 8 (set by --max-length)"),
    (["--patience", "0"], "FinetuneConfig.patience must be at least 1, got 0 (set by --patience)"),
    (["--lora-r", "0"], "FinetuneConfig.lora_r must be at least 1, got 0 (set by --lora-r)"),
    (["--lr", "0"], "FinetuneConfig.learning_rate must be a positive number (or None for the default), got 0.0 "
                    "(set by --lr)"),
    (["--train-size", "0"], "--train-size must be at least 1, got 0"),
])
def test_finetune_bad_options_exit_2_before_loading(no_llm, tmp_path, options, message, capsys):
    assert cli.main(["finetune", "--output", str(tmp_path / "out"), *options]) == 2
    assert capsys.readouterr().err == f"lacibot finetune: {message}\n"
    assert not (tmp_path / "out").exists()  # nothing saved: no untrained adapter, no result.json


def test_finetune_bad_data_and_environment_exit_2(no_llm, tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nope.jsonl"
    assert cli.main(["finetune", "--data", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(f"lacibot finetune: local path does not exist: {missing}")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dialogue": "x", "summary": "y"}\n{"dialogue": "x"\n', encoding="utf-8")
    assert cli.main(["finetune", "--data", str(bad)]) == 2
    assert capsys.readouterr().err == f"lacibot finetune: {bad}, line 2: not valid JSON (Expecting ',' delimiter, " \
                                      f"column 1)\n"
    monkeypatch.setenv("LACIBOT_TIMEOUT_S", "abc")
    assert cli.main(["finetune"]) == 2
    assert capsys.readouterr().err == ("lacibot finetune: LACIBOT_TIMEOUT_S must be a number, got 'abc'; unset it to "
                                       "use the default 60.0\n")


def test_finetune_zero_epochs_from_the_shell_is_one_line(tmp_path):
    """The real entry point: exit status 2 and a single stderr line, no traceback."""
    done = subprocess.run([sys.executable, "-m", "lacibot_lib.cli", "finetune", "--epochs", "0", "--output",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "lacibot finetune: FinetuneConfig.epochs must be at least 1, got 0 (set by --epochs)"]
