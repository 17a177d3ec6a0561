"""seqlab translate DIR [TEXT … | --file F] [--beam K] [--show-attention out.png] — decode with a seq2seq model."""

from __future__ import annotations

import argparse

import torch

from ..data.batching import pad
from ..evaluation.evaluate import load_task
from ..tasks.seq2seq import Seq2SeqTask
from .output import add_json_flag, emit_json, positive_int, read_texts

HELP = "translate / transcribe texts with a saved sequence-to-sequence model"


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help=HELP, description=HELP + ": one source per TEXT argument, per line of --file, "
                       "or per line of standard input (for grapheme-to-phoneme models, a word).")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory of a seq2seq model")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--file", help="one source per line")
    p.add_argument("--beam", type=positive_int, default=None, metavar="K", help="beam width (default: the recipe's data.beam)")
    p.add_argument("--n-best", type=positive_int, default=1, metavar="N", help="print the N best hypotheses with their scores")
    p.add_argument("--penalty", choices=["none", "average", "gnmt"], default="average",
                   help="length normalisation for ranking hypotheses (default average)")
    p.add_argument("--show-attention", metavar="PNG", help="write the first text's attention heatmap to PNG")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    texts = read_texts(args, "translate", skip_empty=True)
    art, task = load_task(args.model_dir)
    if not isinstance(task, Seq2SeqTask):
        raise ValueError(f"{args.model_dir}: `seqlab translate` needs a seq2seq model; this one is {task.name}")
    beam = args.beam or task.beam
    if args.n_best > beam:
        raise ValueError(f"--n-best {args.n_best} needs --beam of at least {args.n_best}")
    src, lengths = pad([task.source_ids(t) for t in texts], task.src_vocab.pad_id)
    results = []
    for text, hyps in zip(texts, task.decode(art.model, src, lengths, beam, args.n_best, args.penalty)):
        results.append({"source": text, "hypotheses": [
            {"text": task.detokenize(h.tokens), "log_prob": h.log_prob, "score": h.score} for h in hyps]})
    if args.show_attention:
        from ..evaluation.plots import attention_heatmap

        if art.model.cfg.attention == "none":
            raise ValueError("--show-attention: this model has no attention")
        state = art.model.start(1, (src[:1, : int(lengths[0])], lengths[:1]))
        best = results[0]["hypotheses"][0]
        target_ids = task.tgt_vocab.encode(task.tgt_tokenizer(best["text"])) + [task.tgt_vocab.eos_id]
        with torch.no_grad():
            _, state = art.model.step(state, torch.tensor([[task.tgt_vocab.bos_id, *target_ids[:-1]]]))
        source_tokens = task.src_tokenizer(texts[0]) or ["<unk>"]
        target_tokens = [task.tgt_vocab.itos[i] for i in target_ids]
        attention_heatmap(source_tokens, target_tokens, state.alignment[0], args.show_attention)
    if args.json:
        emit_json({"beam": beam, "results": results})
    else:
        for r in results:
            if args.n_best == 1:
                print(r["hypotheses"][0]["text"])
            else:
                print(r["source"])
                for h in r["hypotheses"]:
                    print(f"  {h['score']:8.3f}  {h['text']}")
    return 0
