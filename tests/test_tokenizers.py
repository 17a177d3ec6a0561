import pytest

from seqlab.data.tokenizers import Tokenizer, basic_english, character, whitespace


def test_basic_english_rules():
    assert basic_english('He said "Hi!" (twice); ok: done.') == ["he", "said", "hi", "!", "(", "twice", ")", "ok", "done", "."]
    assert basic_english("Great<br /><br />movie") == ["great", "movie"]
    assert basic_english("It's") == ["it", "'", "s"]
    assert basic_english("KEEP Case", lowercase=False) == ["KEEP", "Case"]


def test_chinese_is_character_level_by_default():
    assert basic_english("我喜欢这部电影。") == ["我", "喜", "欢", "这", "部", "电", "影", "。"]
    assert basic_english("深度学习 is fun") == ["深", "度", "学", "习", "is", "fun"]
    assert whitespace("日本語テキスト") == ["日", "本", "語", "テ", "キ", "ス", "ト"]
    assert Tokenizer("basic_english")("中文") == ["中", "文"]


def test_whitespace_and_character():
    assert whitespace("a  b\tc\n") == ["a", "b", "c"]
    assert character("ab c") == ["a", "b", " ", "c"]


def test_bpe_trains_and_round_trips():
    texts = ["the lowest newest widest", "low lower lowest", "new newer newest"] * 20
    tok = Tokenizer.train_bpe(texts, vocab_size=60)
    pieces = tok("lowest newest")
    assert "".join(pieces) == "lowestnewest"
    assert len(pieces) < len("lowestnewest")  # merges were learned
    again = Tokenizer.from_dict(tok.to_dict())
    assert again("widest lower") == tok("widest lower")


def test_unknown_tokenizer_is_named():
    with pytest.raises(ValueError, match="unknown tokenizer 'nope'"):
        Tokenizer("nope")


def test_the_names_config_accepts_are_the_tokenizers_there_are():
    from seqlab.config import TOKENIZERS
    from seqlab.data.tokenizers import _SIMPLE

    assert set(TOKENIZERS) == set(_SIMPLE) | {"bpe", "jieba"}
