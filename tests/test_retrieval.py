import numpy as np
import pytest
from langchain_core.documents import Document

from lacibot_lib import data
from lacibot_lib.retrieval import documents, evaluation, vectorstore
from lacibot_lib.retrieval import embeddings as emb
from lacibot_lib.settings import data_dir

NOTES_MD = data_dir() / "course_notes" / "course_notes.md"


@pytest.fixture(scope="module")
def embeddings():
    return emb.get_embeddings()


def test_e5_embeddings_are_normalised_and_multilingual(embeddings):
    texts = ["Hány hétig tart a gyakorlat?", "How many weeks is the internship?", "A macska alszik."]
    vectors = np.asarray(embeddings.embed_documents(texts))
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = emb.cosine_matrix(embeddings, texts)
    assert sims[0, 1] > sims[0, 2]  # the translation is closer than an unrelated Hungarian sentence
    assert len(embeddings.embed_query("query")) == 384 and embeddings.embed_documents([]) == []


def test_markdown_sections_carry_headings():
    sections = documents.markdown_sections(NOTES_MD)
    titles = {d.metadata["section"] for d in sections}
    assert len(titles) == 9 and any(t.startswith("4. Parameter-efficient") for t in titles)
    assert all(d.page_content.strip() for d in sections)


def test_split_documents_keeps_metadata_and_checks_overlap():
    doc = Document("word " * 400, metadata={"section": "S"})
    chunks = documents.split_documents([doc], chunk_size=200, chunk_overlap=50)
    assert len(chunks) > 5 and all(len(c.page_content) <= 200 and c.metadata["section"] == "S" for c in chunks)
    with pytest.raises(ValueError, match="must be smaller"):
        documents.split_documents([doc], chunk_size=100, chunk_overlap=100)


def test_hit_at_k_and_mrr_hand_worked():
    relevant = lambda x: x == "good"  # noqa: E731
    assert evaluation.hit_at_k(["a", "good", "b"], relevant, 1) == 0.0
    assert evaluation.hit_at_k(["a", "good", "b"], relevant, 2) == 1.0
    assert evaluation.reciprocal_rank(["a", "b", "good"], relevant) == pytest.approx(1 / 3)
    assert evaluation.reciprocal_rank(["a"], relevant) == 0.0
    scores = evaluation.retrieval_scores([(["good"], relevant), (["a", "good"], relevant), (["a"], relevant)],
                                         ks=(1, 2))
    assert scores == {"hit@1": pytest.approx(1 / 3), "hit@2": pytest.approx(2 / 3), "mrr": pytest.approx(0.5)}
    with pytest.raises(ValueError):
        evaluation.retrieval_scores([])


def test_course_notes_questions_point_at_real_sections():
    questions = data.load_course_notes_qa()
    titles = {d.metadata["section"] for d in documents.markdown_sections(NOTES_MD)}
    assert len(questions) >= 24 and all(q["section"] in titles for q in questions)


def test_chroma_store_is_reused_until_documents_change(embeddings, tmp_path):
    docs = [Document("LoRA adds low-rank adapters.", metadata={"s": 1}),
            Document("ROUGE counts overlaps.", metadata={"s": 2})]
    store, rebuilt = vectorstore.chroma_store(docs, embeddings, tmp_path / "db", collection="test", progress=False)
    assert rebuilt and store.similarity_search("What is LoRA?", k=1)[0].page_content.startswith("LoRA")
    _, rebuilt_again = vectorstore.chroma_store(docs, embeddings, tmp_path / "db", collection="test", progress=False)
    assert not rebuilt_again
    changed = docs + [Document("CUDA needs synchronisation.", metadata={"s": 3})]
    store, rebuilt_after_change = vectorstore.chroma_store(changed, embeddings, tmp_path / "db", collection="test")
    assert rebuilt_after_change and len(store.get()["ids"]) == 3


def test_pdf_pages_are_one_based_and_bad_pdf_is_named(tmp_path):
    pages = documents.load_pdf_pages(data_dir() / "course_notes" / "course_notes.pdf")
    assert len(pages) >= 8 and pages[0].metadata == {"source": "course_notes.pdf", "page": 1}
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(ValueError, match="broken.pdf"):
        documents.load_pdf_pages(broken)


def test_embedding_cache_reuses_vectors(tmp_path):
    class CountingEmbeddings(emb.E5Embeddings):
        calls = 0

        def embed_documents(self, texts):
            CountingEmbeddings.calls += 1
            return super().embed_documents(texts)

    embeddings = CountingEmbeddings()
    first = emb.cached_embed_documents(embeddings, ["alpha", "beta"], tmp_path)
    second = emb.cached_embed_documents(embeddings, ["alpha", "beta"], tmp_path)
    emb.cached_embed_documents(embeddings, ["alpha", "gamma"], tmp_path)
    assert CountingEmbeddings.calls == 2 and np.array_equal(first, second) and first.shape == (2, 384)


def test_embeddings_setting_builds_a_sentence_transformers_model(tmp_path, monkeypatch):
    """LACIBOT_EMBEDDINGS=<sentence-transformers id or folder> works (it used to crash on ``.name``); the model
    here is built locally from a tiny BERT, so nothing is downloaded."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "internship"]))
    bert_dir = tmp_path / "bert"
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(bert_dir)
    BertModel(BertConfig(vocab_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(bert_dir)
    word = st_models.Transformer(str(bert_dir))
    st_dir = tmp_path / "tiny-st"
    SentenceTransformer(modules=[word, st_models.Pooling(word.get_embedding_dimension())]).save(str(st_dir))

    from lacibot_lib.settings import get_settings

    monkeypatch.setenv("LACIBOT_EMBEDDINGS", str(st_dir))
    settings = get_settings()
    assert settings.embeddings == str(st_dir)
    embedder = emb.get_embeddings(settings=settings)
    assert emb.embedder_name(embedder) == str(st_dir)
    vectors = emb.cached_embed_documents(embedder, ["hello world", "internship"], tmp_path / "cache")
    assert vectors.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    store, rebuilt = vectorstore.chroma_store([Document(page_content="hello world", metadata={"source": "a"})],
                                              embedder, tmp_path / "db", collection="tiny")
    assert rebuilt and store.similarity_search("hello", k=1)[0].page_content == "hello world"
