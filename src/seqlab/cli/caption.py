"""seqlab caption DIR [IMAGE …] [--test N …] [--beam K] [--png FILE] — caption images with a saved model."""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ..config import from_dict
from ..data.images import load_image
from ..tasks import load_task
from .output import add_json_flag, emit_json, positive_int

HELP = "caption images with a saved image-captioning model, and show where it looked"


def add_parser(sub) -> None:
    p = sub.add_parser("caption", help=HELP, description=HELP + ". Images are read as grey scale and scaled to "
                       "the model's height (their width kept in proportion, padded on the right).")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory of a captioning model")
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files (PNG, JPEG, … anything Pillow reads)")
    p.add_argument("--test", type=int, action="append", default=[], metavar="N",
                   help="also caption image N of the model's own test split (repeatable; no file needed)")
    p.add_argument("--beam", type=positive_int, default=None, metavar="K", help="beam width (default: the recipe's data.beam)")
    p.add_argument("--png", "--show-attention", dest="show_attention", metavar="FILE",
                   help="also write the first image's attention, one panel per word, to FILE (--show-attention: the old spelling)")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    art, task = load_task(args.model_dir)
    if not task.captions_images:
        raise ValueError(f"{args.model_dir}: `seqlab caption` needs a captioning model; this one is {task.name}")
    if args.beam is not None and args.beam < 1:
        raise ValueError(f"--beam: must be at least 1, got {args.beam}")
    height, width = task.image_size
    loaded = [(str(path), *load_image(path, height, width)) for path in args.images]
    if args.test:
        cfg = from_dict(type(task).data_config, art.recipe.get("data") or {}, "data", str(art.path), lenient=True)
        test = type(task).load_split(cfg, "test", str(art.path))
        for n in args.test:
            if not 0 <= n < len(test):
                raise ValueError(f"--test {n}: the test split has images 0 to {len(test) - 1}")
            loaded.append((f"test:{n}", test[n].image, test[n].width))
    if not loaded:
        raise ValueError("nothing to caption: give IMAGE files or --test N")
    images = torch.from_numpy(np.stack([image for _, image, _ in loaded])).unsqueeze(1)
    widths = torch.tensor([w for _, _, w in loaded])
    hyps = task.decode(art.model, images, widths, args.beam)
    results = [{"image": name, "caption": task.detokenize(h[0].tokens), "log_prob": h[0].log_prob}
               for (name, _, _), h in zip(loaded, hyps)]
    if args.show_attention:
        from ..evaluation.plots import caption_attention

        words, alpha, stride = task.attention_figure(art.model, images[:1], widths[:1], hyps[0][0].tokens)
        caption_attention(loaded[0][1], words, alpha, args.show_attention, stride)
        results[0]["attention_png"] = args.show_attention
    if args.json:
        emit_json({"results": results})
    else:
        for r in results:
            print(f"{r['image']}\t{r['caption']}")
        if args.show_attention:
            print(f"attention: {args.show_attention}")
    return 0
