"""The task families' torch-free codecs: importable without torch (an export is served by onnxruntime alone), and
the one path both the torch task and the exported model read and answer through."""

import subprocess
import sys

from seqlab.data.tokenizers import Tokenizer
from seqlab.data.vocab import Vocab
from seqlab.tasks.classification.codec import ClassificationCodec
from seqlab.tasks.tagging.codec import MAX_WORD_CHARS, TaggingCodec


def test_the_registry_and_the_codecs_import_without_torch():
    code = ("import sys\n"
            "import seqlab.tasks, seqlab.tasks.classification.codec, seqlab.tasks.tagging.codec\n"
            "import seqlab.tasks.language_model.codec, seqlab.tasks.seq2seq.codec\n"
            "from seqlab.tasks import summary\n"
            "assert summary('tagging', {'tokens': ['a'], 'tags': ['O']}) == 'a/O'\n"
            "from seqlab.tasks import TASKS\n"
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:5]\n"
            "print(len(TASKS))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "6"


def test_the_registry_loads_a_family_only_when_asked():
    from seqlab.tasks import get_task
    from seqlab.tasks.tagging.task import TaggingTask

    assert get_task("tagging") is TaggingTask
    assert get_task("tagging").data_config.__name__ == "TaggingData"


def classifier_codec(max_length=None) -> ClassificationCodec:
    tok = Tokenizer("whitespace", lowercase=True)
    vocab = Vocab.build([["a", "good", "film"], ["a", "bad", "film"]], min_freq=1)
    return ClassificationCodec(tok, vocab, ["neg", "pos"], max_length)


def test_the_classifier_codec_reads_and_answers_as_training_did():
    codec = classifier_codec(max_length=2)
    assert codec.ids("A good film") == codec.vocab.encode(["a", "good"])  # lowercased, cut at max_length
    assert codec.ids("") == [codec.vocab.unk_id]  # an empty text is one <unk>
    assert codec.truncated("a good film") and not codec.truncated("a good")
    ids, lengths = codec.padded([[5, 6, 7], [8]])
    assert ids.tolist() == [[5, 6, 7], [8, codec.vocab.pad_id, codec.vocab.pad_id]] and lengths.tolist() == [3, 1]
    out = codec.output("a good film", [0.25, 0.75])
    assert out == {"text": "a good film", "label": "pos", "probability": 0.75,
                   "probabilities": {"neg": 0.25, "pos": 0.75}, "truncated": True}


def test_the_tagger_codec_reads_words_and_characters_and_gives_spans():
    tok = Tokenizer("whitespace", lowercase=False)
    words = Vocab.build([["the", "dog", "ran"]], min_freq=1)
    chars = Vocab.build([list("the"), list("dog"), list("ran")], min_freq=1)
    codec = TaggingCodec(tok, words, chars, ["O", "B-NP", "I-NP", "E-NP", "S-NP"], scheme="bioes", lowercase=True)
    tokens = codec.tokens("The dog ran")
    assert codec.word_ids(tokens) == words.encode(["the", "dog", "ran"])  # lowercased for the word vocabulary
    long_word = "x" * (MAX_WORD_CHARS + 5)
    assert len(codec.char_ids([long_word])[0]) == MAX_WORD_CHARS
    assert codec.char_ids([""]) == [[chars.unk_id]]
    tags = codec.tag_strings([1, 3, 0])  # B-NP E-NP O in BIOES → IOB2
    assert tags == ["B-NP", "I-NP", "O"]
    out = codec.output("The dog ran", tokens, tags)
    assert out["spans"] == [{"type": "NP", "first": 0, "last": 1, "start": 0, "end": 7, "text": "The dog"}]
    assert codec.output("") == {"text": "", "tokens": [], "tags": [], "spans": []}


def test_each_family_writes_its_one_line_summary():
    from seqlab.tasks import summary

    assert summary("classification", {"label": "pos", "probability": 0.75, "text": "fine"}) == "pos\t0.750\tfine"
    assert summary("language_model", {"prompt": "ROMEO:", "text": " and"}) == "ROMEO: and"
    one = {"hypotheses": [{"text": "HH AH0", "score": -0.5}]}
    assert summary("seq2seq", one) == "HH AH0"
    two = {"hypotheses": [{"text": "HH AH0", "score": -0.5}, {"text": "HH EH0", "score": -1.25}]}
    assert summary("seq2seq", two) == "  -0.500  HH AH0\n  -1.250  HH EH0"
    assert summary("adding", {"value": 1.0}) == '{"value": 1.0}'  # a family without a codec: its JSON


def test_the_numpy_sampler_follows_the_sampling_rules():
    import numpy as np

    from seqlab.tasks.language_model.codec import choose

    logits = np.array([0.0, 3.0, 2.9, -1.0])
    rng = np.random.default_rng(0)
    base = {"greedy": False, "temperature": 1.0, "top_k": None, "top_p": None}
    assert choose(logits, {**base, "greedy": True}, rng) == 1
    assert {choose(logits, {**base, "top_k": 2}, rng) for _ in range(200)} == {1, 2}  # only the two largest
    assert {choose(logits, {**base, "top_p": 0.01}, rng) for _ in range(50)} == {1}  # the most likely always kept
