"""Shared fixtures: the packaged model (loaded once per session) and tiny offline stand-ins for seq2seq tests."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smol():
    """(model, tokenizer) of the packaged SmolLM2-135M-Instruct, fp32 on CPU."""
    from lacibot_lib import models

    return models.load_model("smollm2-135m-instruct", device="cpu")


def make_word_tokenizer(words: list[str]):
    """A tiny word-level fast tokenizer built in code (no download), with T5-style special tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in words:
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory):
    """A folder holding a tiny random T5 and a word tokenizer: loadable by ``models.load_model``."""
    from lacibot_lib import models

    words = ("summarize the following conversation in one or two sentences . summary : #person1# #person2# "
             "hello hi how are you fine thanks bye a b c d e f g").split()
    tokenizer = make_word_tokenizer(words)
    model = models.tiny_seq2seq_model(vocab_size=64)
    folder = tmp_path_factory.mktemp("tiny_t5")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
