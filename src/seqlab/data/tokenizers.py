"""Tokenizers: text → list of token strings, each serialisable to a JSON spec for the model artifact.

``basic_english`` (the default) follows the rules of torchtext's tokenizer of that name, plus one:

1. lower-case the text (``lowercase=False`` keeps case);
2. drop ``<br />`` tags (IMDb) and double quotes;
3. put spaces around ``. , ( ) ! ?`` and split ``'`` off as its own token;
4. drop ``;`` and ``:``;
5. **each CJK character is its own token**, so Chinese and Japanese text tokenizes at character level;
6. split on whitespace.

>>> basic_english("Don't panic, it's ok!<br />Really.")
['don', "'", 't', 'panic', ',', 'it', "'", 's', 'ok', '!', 'really', '.']
>>> basic_english("我爱北京 NLP")
['我', '爱', '北', '京', 'nlp']

``kim`` is the ``clean_str`` preprocessing of Kim (2014)'s code, used by most sentence-classification
baselines on MR, SST, SUBJ, TREC, CR and MPQA: keep letters, digits and ``( ) , ! ? ' ```; split the clitics
``'s 've n't 're 'd 'll`` off as tokens; space out ``, ! ( ) ?``; lower-case.

>>> kim("It's not the film's fault, isn't it?")
['it', "'s", 'not', 'the', 'film', "'s", 'fault', ',', 'is', "n't", 'it', '?']

``jieba`` segments Chinese into words with the ``jieba`` package (``pip install 'seqlab[zh]'``) and keeps
``basic_english``'s rules for everything else (Latin words, numbers, punctuation): each run of CJK characters
goes to jieba, the text between runs to ``basic_english``. A user dictionary (``data.user_dict``: one
``word [freq] [tag]`` a line, jieba's format) is read when the tokenizer is made and saved with it, so a
trained model segments the same way wherever it is loaded.

``treebank`` splits words from punctuation and clitics, keeping case and every character (a tagger's default
for raw text). Others: ``whitespace`` (split on whitespace, pre-tokenised corpora such as MR and SST), ``character``
(every character, spaces included) and ``bpe`` (byte-pair encoding trained with Hugging Face
``tokenizers`` on the training texts).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from ..config import TOKENIZERS, ConfigError

_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
)
_BASIC_RULES = [
    (re.compile(r"<br\s*/?>", re.IGNORECASE), " "),
    (re.compile(r"'"), " '  "),
    (re.compile(r'"'), ""),
    (re.compile(r"([.,()!?])"), r" \1 "),
    (re.compile(r"[;:]"), " "),
    (re.compile(f"([{_CJK}])"), r" \1 "),
]


def basic_english(text: str, lowercase: bool = True) -> list[str]:
    """Split English text by the rules in the module docstring."""
    if lowercase:
        text = text.lower()
    for pattern, replacement in _BASIC_RULES:
        text = pattern.sub(replacement, text)
    return text.split()


_KIM_RULES = [
    (re.compile(r"[^A-Za-z0-9(),!?\'\`]"), " "),
    (re.compile(r"\'s"), " 's"),
    (re.compile(r"\'ve"), " 've"),
    (re.compile(r"n\'t"), " n't"),
    (re.compile(r"\'re"), " 're"),
    (re.compile(r"\'d"), " 'd"),
    (re.compile(r"\'ll"), " 'll"),
    (re.compile(r","), " , "),
    (re.compile(r"!"), " ! "),
    (re.compile(r"\("), " ( "),
    (re.compile(r"\)"), " ) "),
    (re.compile(r"\?"), " ? "),
]


def kim(text: str, lowercase: bool = True) -> list[str]:
    """Kim (2014)'s ``clean_str`` rules (see the module docstring)."""
    for pattern, replacement in _KIM_RULES:
        text = pattern.sub(replacement, text)
    return (text.lower() if lowercase else text).split()


def whitespace(text: str, lowercase: bool = False) -> list[str]:
    """Split on runs of whitespace; CJK characters are still split one per token.

    >>> whitespace("the rock is  destined")
    ['the', 'rock', 'is', 'destined']
    """
    if lowercase:
        text = text.lower()
    return _BASIC_RULES[-1][0].sub(r" \1 ", text).split()


def split(text: str, lowercase: bool = False) -> list[str]:
    """Exactly ``str.split()``: for pre-tokenised corpora (PTB, WikiText), whose published token counts it keeps.

    >>> split("the 東京 rock")
    ['the', '東京', 'rock']
    """
    return (text.lower() if lowercase else text).split()


_TREEBANK = re.compile(
    rf"[{_CJK}]"                              # a CJK character is a token, as in the other tokenizers
    r"|(?:(?![" + _CJK + r"])\w)+?(?=n't\b)"  # do|n't
    r"|n't\b|'(?:s|re|ve|ll|d|m)\b"          # clitics, as the Penn Treebank splits them
    r"|(?:(?![" + _CJK + r"])\w)+(?:[-.](?:(?![" + _CJK + r"])\w)+)*"  # words, numbers 3.5, well-known
    r"|\S",                                  # any other character: punctuation one by one
    re.IGNORECASE)


def treebank(text: str, lowercase: bool = False) -> list[str]:
    """Words split from their punctuation and clitics as the Penn Treebank (CoNLL, UD) writes them, case kept and
    nothing dropped, so every token is a piece of the text: a tagger's raw input.

    >>> treebank("He said, it's fine. Don't (really) pay $3.50!")
    ['He', 'said', ',', 'it', "'s", 'fine', '.', 'Do', "n't", '(', 'really', ')', 'pay', '$', '3.50', '!']
    """
    return _TREEBANK.findall(text.lower() if lowercase else text)


def character(text: str, lowercase: bool = False) -> list[str]:
    """Every character is a token, whitespace included.

    >>> character("ab c")
    ['a', 'b', ' ', 'c']
    """
    return list(text.lower() if lowercase else text)


_CJK_RUN = re.compile(f"[{_CJK}]+")
_USER_WORD = re.compile(r"^(\S+?)(?: +([0-9]+))?(?: +([a-z]+))?$")


def read_user_dict(path: str | Path) -> list[str]:
    """The entries of a jieba user dictionary (``word [freq] [tag]`` a line, UTF-8), checked line by line; blank
    lines and ``#`` comments are skipped. An entry jieba would misread is an error naming ``path:line``."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such user dictionary") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _USER_WORD.match(line):
            raise ConfigError(f"{path}:{number}: expected 'word [frequency] [tag]', got {line[:60]!r}")
        entries.append(line)
    return entries


@lru_cache(maxsize=8)
def _jieba_segmenter(user_words: tuple[str, ...]):
    """One jieba segmenter per user dictionary, made on first use. Its prefix dictionary is built once and
    cached under ``$SEQLAB_CACHE_DIR`` (not in the shared temporary folder), and its start-up log is silenced."""
    try:
        import jieba
    except ImportError:
        raise ConfigError("tokenizer jieba: the jieba package is not installed (pip install 'seqlab[zh]')") from None
    logging.getLogger("jieba").setLevel(logging.WARNING)
    segmenter = jieba.Tokenizer()
    # runtime.cache_dir()'s rule, without importing torch: an exported model is served without it
    folder = Path(os.environ.get("SEQLAB_CACHE_DIR") or Path.home() / ".cache" / "seqlab")
    folder.mkdir(parents=True, exist_ok=True)
    segmenter.tmp_dir = str(folder)
    segmenter.initialize()
    for entry in user_words:
        word, freq, tag = _USER_WORD.match(entry).groups()
        segmenter.add_word(word, int(freq) if freq else None, tag)
    return segmenter


def jieba_words(text: str, lowercase: bool = True, user_words: tuple[str, ...] = ()) -> list[str]:
    """Chinese runs segmented by jieba (precise mode, HMM for unknown words), the rest by ``basic_english``.

    >>> jieba_words("我爱人工智能")
    ['我', '爱', '人工智能']
    >>> jieba_words("这部电影 is GREAT!")
    ['这部', '电影', 'is', 'great', '!']
    """
    segmenter, out, at = _jieba_segmenter(tuple(user_words)), [], 0
    for run in _CJK_RUN.finditer(text):
        out += basic_english(text[at:run.start()], lowercase)
        out += [w for w in segmenter.lcut(run.group(), HMM=True) if w.strip()]
        at = run.end()
    return out + basic_english(text[at:], lowercase)


class Tokenizer:
    """A named tokenizer with its options; ``to_dict()`` / ``from_dict()`` round-trip through JSON."""

    def __init__(self, name: str, lowercase: bool = True, bpe_json: str | None = None,
                 user_words: list[str] | None = None):
        self.name = name
        self.lowercase = lowercase
        self.bpe_json = bpe_json
        self.user_words = list(user_words or [])
        if self.user_words and name != "jieba":
            raise ValueError(f"tokenizer {name}: a user dictionary is for the jieba tokenizer only")
        if name == "jieba":
            words = tuple(self.user_words)
            self._fn = lambda t: jieba_words(t, lowercase, words)
        elif name == "bpe":
            if bpe_json is None:
                raise ValueError("tokenizer bpe: not trained yet (use Tokenizer.train_bpe)")
            from tokenizers import Tokenizer as HFTokenizer

            try:
                self._bpe = HFTokenizer.from_str(bpe_json)
            except Exception as err:  # noqa: BLE001 — the tokenizers library raises a bare Exception for a bad file
                raise ValueError(f"not a BPE tokenizer ({str(err).splitlines()[0][:120]})") from None
            self._fn: Callable[[str], list[str]] = lambda t: self._bpe.encode(
                t.lower() if lowercase else t
            ).tokens
        elif name in _SIMPLE:
            fn = _SIMPLE[name]
            self._fn = lambda t: fn(t, lowercase)
        else:
            raise ValueError(f"unknown tokenizer {name!r} (known: {', '.join(TOKENIZERS)})")

    def __call__(self, text: str) -> list[str]:
        return self._fn(text)

    def to_dict(self) -> dict:
        out = {"name": self.name, "lowercase": self.lowercase}
        if self.bpe_json is not None:
            out["bpe"] = json.loads(self.bpe_json)
        if self.user_words:
            out["user_dict"] = self.user_words
        return out

    @classmethod
    def from_dict(cls, spec: dict) -> Tokenizer:
        bpe = spec.get("bpe")
        return cls(spec["name"], spec.get("lowercase", True), json.dumps(bpe) if bpe is not None else None,
                   spec.get("user_dict"))

    @classmethod
    def from_config(cls, name: str, lowercase: bool, user_dict: str | None = None) -> Tokenizer:
        """The tokenizer a recipe's ``data`` names (all but ``bpe``, which is trained: ``train_bpe``), with its
        user dictionary read from ``user_dict``."""
        return cls(name, lowercase, user_words=read_user_dict(user_dict) if user_dict else None)

    @classmethod
    def train_bpe(cls, texts: Iterable[str], vocab_size: int = 8000, lowercase: bool = True) -> Tokenizer:
        """Learn a BPE model (Sennrich et al. 2016) on ``texts`` with Hugging Face ``tokenizers``."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import models, pre_tokenizers, trainers

        hf = HFTokenizer(models.BPE(unk_token="<unk>"))
        hf.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>"], show_progress=False)
        hf.train_from_iterator((t.lower() if lowercase else t for t in texts), trainer=trainer)
        return cls("bpe", lowercase, hf.to_str())


_SIMPLE: dict[str, Callable[[str, bool], list[str]]] = {
    "basic_english": basic_english,
    "whitespace": whitespace,
    "split": split,
    "character": character,
    "kim": kim,
    "treebank": treebank,
}


def token_offsets(text: str, tokens: list[str]) -> list[tuple[int, int] | None]:
    """Character (start, end) of each token in ``text``, found left to right (case-insensitively); None for a
    token the tokenizer changed beyond case (``basic_english`` rewrites some punctuation)."""
    folded, at, out = text.lower(), 0, []
    for token in tokens:
        start = folded.find(token.lower(), at)
        if start < 0:
            out.append(None)
            continue
        out.append((start, start + len(token)))
        at = start + len(token)
    return out
