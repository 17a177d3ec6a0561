"""From a recipe to a finished run directory:

    out_dir/
      recipe.yaml      the resolved recipe (defaults and --set overrides applied)
      model/           the best model artifact (load with ``seqlab.artifact.load``)
      checkpoint/      the last state, for ``--resume``
      metrics.jsonl    training log
      results.json     dev and test metrics, timing, sizes

Gradient-trained models go through ``loop.fit``; a model fitted in closed form (the BoW baseline's
scikit-learn fit) is fitted once and then saved and evaluated the same way.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from rich.console import Console

from .. import WAIT_POLICY, __version__, artifact, cotenancy, runtime
from ..config import ConfigError, Recipe
from ..tasks import load_recipe
from ..data.check import check_split
from ..data.vectors import load_into as load_vectors
from ..data.batching import bucket_batches, pad_fraction
from ..models import registry
from ..tasks import get_task
from . import checkpoint, distributed
from .loop import describe, fit
from .transfer import start_from_language_model, start_from_run
from .progress import console as make_console


#: Recipe fields that may change when a run is resumed: how long and how verbosely it goes on, not what it learns.
SAFE_ON_RESUME = {"train.epochs", "train.max_minutes", "train.patience", "train.log_every", "train.checkpoint_every",
                  "train.threads", "train.eval_batch_size", "train.device", "train.log",
                  "train.keep_epochs"}


def recipe_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the fields whose values differ between two recipe mappings (fields only one of them has,
    such as another task's data fields that an older seqlab saved, are not compared)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for key in sorted(set(old) & set(new), key=str)
                for d in recipe_differences(old.get(key), new.get(key), f"{prefix}{key}.")]
    return [] if old == new else [prefix.rstrip(".")]


def check_out_dir(out_dir: Path) -> None:
    """The run directory can be written: not a file, creatable, writable. Checked before any data is read."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: is a file, not a run directory (choose another --out)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"{out_dir}: cannot write the run directory ({err.strerror or err})") from None


def check_free_space(out_dir: Path, model: torch.nn.Module) -> None:
    """Room for a model and a checkpoint (weights, two optimiser moments, the model copy): 4× the weights."""
    need = 4 * sum(t.numel() * t.element_size() for t in model.state_dict().values()) + (1 << 20)
    free = shutil.disk_usage(out_dir).free
    if free < need:
        raise ConfigError(f"{out_dir}: {free / 2**20:,.1f} MiB free, a checkpoint of this model needs about "
                          f"{need / 2**20:,.1f} MiB")


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train(recipe: Recipe | str | Path, out_dir: str | Path, resume: bool = False, out: Console | None = None,
          progress: bool = True, overwrite: bool = False) -> dict[str, Any] | None:
    """Run ``recipe`` (a Recipe, or the path of a recipe file) into ``out_dir``; return the results (also
    written to results.json).

    A directory that already holds a trained model is refused unless ``resume`` (continue its run) or
    ``overwrite`` (replace it): retyping a long run's command must not wipe its model.

    While it runs, the run is registered with ``seqlab.cotenancy`` and its threads follow its fair share
    of the machine, unless ``train.threads`` or ``SEQLAB_THREADS`` fix them.

    Launched by torchrun with several processes, every rank runs this (``training.distributed``); rank 0
    returns the results, the others None. Threads are then per process: ``train.threads``, else the cores
    shared out among this machine's ranks.
    """
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    out = out or make_console()
    cfg = recipe.train
    device = runtime.device(cfg.device)
    world = distributed.init(device)
    if world.size > 1 and device.type == "cuda":
        device = torch.device("cuda", world.local_rank)  # one GPU per process
    fixed = runtime.user_threads(cfg.threads)
    if world.size > 1:
        fixed = fixed or max(1, runtime.cores() // world.local_size)
        if not world.main:
            out, progress = Console(quiet=True), False
    threads = runtime.set_threads(fixed)
    governor = cotenancy.ThreadGovernor(torch.set_num_threads, threads, fixed=fixed is not None,
                                        record={"recipe": str(recipe.source), "out": str(out_dir)})
    try:
        return _train(recipe, Path(out_dir), resume, out, progress, governor, overwrite, world, device)
    finally:
        governor.close()
        distributed.close(world)


def account(parts: dict[str, Any], dropped: dict[str, dict[str, int]], task: Any) -> dict[str, Any]:
    """Per split: examples read, dropped (and why), used, cut short (and why), with ``check_split``'s report;
    examples dropped before the data was split (an empty line of a corpus file) under ``before splitting``."""
    report: dict[str, Any] = {}
    if dropped.get("before splitting"):
        skipped = dropped["before splitting"]
        report["before splitting"] = {"skipped": skipped}
    for name in ("train", "dev", "test"):
        examples = parts[name]
        if not isinstance(examples, list):  # generated on the fly (the adding problem)
            report[name] = {"read": len(examples), "skipped": {}, "used": len(examples)}
            continue
        skipped = dropped.get(name, {})
        report[name] = {"read": len(examples) + sum(skipped.values()), "skipped": skipped, "used": len(examples),
                        "truncated": task.truncated(examples), **check_split(examples, pairs=task.paired_texts)}
    return report


def describe_accounting(name: str, report: dict[str, Any]) -> str:
    """One clause of the run's data line: ``train 9,596 read, 400 skipped (beyond data.limit: 400), 9,196 used``."""
    skipped = report["skipped"]
    why = ", ".join(f"{reason}: {n:,}" for reason, n in skipped.items())
    if "read" not in report:
        return f"{name} {sum(skipped.values()):,} skipped ({why})"
    text = f"{name} {report['read']:,} read, {sum(skipped.values()):,} skipped{f' ({why})' if why else ''}, {report['used']:,} used"
    cut = report.get("truncated") or {}
    if cut:
        text += " (" + ", ".join(f"{n:,} {reason}" for reason, n in cut.items()) + ")"
    return text


def held_out(data: Any, sizes: dict[str, int]) -> list[str]:
    """For a recipe of local files, what the run did for a dev or test split that no file gave: held out of the
    training file (said with the count, so that "train 720 read" does not hide 80 test examples), or none."""
    if data.dataset or not data.train:
        return []
    notes = []
    for split in ("dev", "test"):
        if not getattr(data, split):
            notes.append(f"{split}: no data.{split} file, so {sizes[split]:,} examples of {Path(data.train).name} are "
                         f"held out as {split}" if sizes[split] else
                         f"{split}: no data.{split} file and none held out, so no {split} score (give data.{split})")
    return notes


def resumable(recipe: Recipe, out_dir: Path, out: Console) -> Any:
    """The checkpoint in ``out_dir`` that ``--resume`` continues, refused in one line when missing or when the
    recipe changed in a field other than ``SAFE_ON_RESUME``."""
    ckpt = out_dir / "checkpoint"
    if not checkpoint.exists(ckpt):
        raise FileNotFoundError(f"{ckpt}: no checkpoint to resume from (train without --resume first)")
    restored = checkpoint.load(ckpt)
    changed = recipe_differences(restored.recipe, recipe.to_dict())
    unsafe = [name for name in changed if name not in SAFE_ON_RESUME]
    if unsafe:
        raise ConfigError(f"{recipe.source}: --resume: the recipe differs from the checkpoint's in {', '.join(unsafe)}; "
                          f"restore them, or train into a new --out (only {', '.join(sorted(SAFE_ON_RESUME))} may change)")
    if changed:
        out.print(f"resuming with changed {', '.join(changed)}")
    return restored


def report_data(recipe: Recipe, task: Any, parts: dict[str, Any], dropped: dict[str, dict[str, int]],
                out: Console) -> dict[str, Any]:
    """Every split accounted for (read, skipped, used, problems), printed, and returned for results.json."""
    data_report = account(parts, dropped, task)
    for name, report in data_report.items():
        for problem in report.get("problems", []):
            out.print(f"[yellow]data {name}[/]: {problem}")
    out.print("data: " + "; ".join(describe_accounting(name, report) for name, report in data_report.items()))
    for note in held_out(recipe.data, {name: len(parts[name]) for name in ("dev", "test")}):
        out.print(f"data {note}")
    return data_report


def pretrained_start(recipe: Recipe, task: Any, model: torch.nn.Module, model_config: dict[str, Any],
                     out: Console) -> tuple[dict | None, dict | None]:
    """A fresh run's pretrained start, each reported: word vectors (``data.vectors``) into the word embedding, a
    language model's encoder (``model.encoder_from``). Returns (vectors report, encoder report)."""
    vectors_report = encoder_report = None
    if recipe.data.vectors:
        if not registry.has_word_embedding(model):
            raise ConfigError(f"{recipe.source}: data.vectors: model {model_config['name']} has no word embedding")
        vectors_report = load_vectors(model.word_embedding(), recipe.data.vectors, task.vocab.itos)
        registry.vectors_loaded(model)
        out.print(f"pretrained vectors: {vectors_report['found']:,} of {vectors_report['words']:,} words found "
                  f"({vectors_report['coverage']:.1%}); the rest keep their random initialisation")
    if recipe.train.init_from:
        init = start_from_run(model, recipe.train.init_from, task.vocab.itos if task.vocab is not None else None,
                              recipe.source)
        out.print(f"every weight from {init['from']}: {init['tensors']} tensors, {init['parameters']:,} parameters")
    if model_config.get("encoder_from"):
        encoder_report = start_from_language_model(model, model_config["encoder_from"], task.vocab.itos,
                                                   task.word_form(), recipe.source)
        out.print(f"encoder from {encoder_report['from']}: {encoder_report['found']:,} of {encoder_report['words']:,} "
                  f"words found in its vocabulary, {encoder_report['mean_started']:,} start at the mean of its "
                  f"embeddings; {encoder_report['rnn_copied']} recurrent tensors copied"
                  + (f", {len(encoder_report['rnn_kept'])} (the backward direction) keep their initialisation"
                     if encoder_report["rnn_kept"] else ""))
    return vectors_report, encoder_report


def announce(recipe: Recipe, task: Any, model: torch.nn.Module, model_config: dict[str, Any], splits: tuple,
             threads: int, device: torch.device, world: distributed.World, out: Console) -> float:
    """The run's one line (task, model and size, vocabulary, split sizes, padding, threads); returns the pad fraction
    of the training batches."""
    cfg, (train_split, dev_split, test_split) = recipe.train, splits
    lengths = task.batch_lengths(train_split)
    pads = pad_fraction(bucket_batches(lengths, cfg.batch_size, torch.Generator().manual_seed(cfg.seed), True, cfg.bucket), lengths)
    vocab = f"vocabulary {len(task.vocab):,}, " if task.vocab is not None else ""
    out.print(f"[bold]{recipe.source}[/]: {recipe.task}, model {model_config['name']} "
              f"({count_parameters(model):,} parameters), {vocab}"
              f"train/dev/test {len(train_split)}/{len(dev_split)}/{len(test_split)}, "
              f"pad fraction {pads:.3f}, {threads} thread{'s' if threads != 1 else ''}" + (f", {device}" if device.type != "cpu" else "")
              + (f" in each of {world.size} processes ({world.backend})" if world.size > 1 else ""))
    return pads


def train_model(recipe: Recipe, task: Any, model: torch.nn.Module, model_config: dict[str, Any], train_split: Any,
                dev_split: Any, out_dir: Path, out: Console, resume: bool, progress: bool,
                governor: cotenancy.ThreadGovernor, world: distributed.World) -> dict[str, Any] | None:
    """The model fitted in closed form where its task does so (the BoW baseline), else trained by ``loop.fit``;
    the best model saved in ``out_dir/model``. Returns what the training did (for results.json), None on a rank
    other than 0."""
    cfg = recipe.train
    t0 = time.perf_counter()
    closed = task.fit_closed_form(model, train_split)  # every rank fits alike; rank 0 saves and scores
    if closed is not None and not world.main:
        return None
    if closed is not None:
        fit_seconds = time.perf_counter() - t0  # the fit itself: dev scoring and saving are not training
        dev_scores = task.evaluate(model, dev_split, cfg.eval_batch_size)
        artifact.save(out_dir / "model", model, model_config, task.name, recipe.to_dict(), task.files())
        return {"fit": "closed form (scikit-learn)", **closed, "train_seconds": fit_seconds,
                "best": dev_scores.get(cfg.monitor), "best_epoch": None}
    state = fit(task, model, model_config, recipe, train_split, dev_split, out_dir, out, resume, progress,
                governor.poll, world)
    if not world.main:
        return None
    loop_info = describe(state)
    loop_info["train_tokens_per_s"] = state.tokens / max(state.train_seconds, 1e-9) if state.tokens else None
    return loop_info


def _train(recipe: Recipe, out_dir: Path, resume: bool, out: Console, progress: bool,
           governor: cotenancy.ThreadGovernor, overwrite: bool = False,
           world: distributed.World | None = None, device: torch.device | None = None) -> dict[str, Any] | None:
    world = world or distributed.World()
    device = device or torch.device("cpu")
    started = time.perf_counter()
    cfg = recipe.train
    threads = governor.threads
    runtime.seed_everything(cfg.seed)
    task_cls = get_task(recipe.task, recipe.source)
    registry.model_config(recipe.model, recipe.source)  # the model section's fields, before any data is read
    if not resume and not overwrite and (out_dir / "model" / artifact.CONFIG).is_file():
        raise ConfigError(f"{out_dir}: holds a trained model already; --resume continues its run, --overwrite "
                          "replaces it, or give another --out")
    check_out_dir(out_dir)
    restored = resumable(recipe, out_dir, out) if resume else None
    out.print(f"OpenMP waiting: {WAIT_POLICY.value or 'default (active)'} ({WAIT_POLICY.reason}); "
              f"{threads} thread{'s' if threads != 1 else ''} ({'fixed by train.threads/SEQLAB_THREADS' if governor.fixed else 'adaptive' if governor.active else 'SEQLAB_COTENANCY=0'})"
              + "".join(f"; {c['reason']}" for c in governor.changes))
    task, splits = task_cls.from_recipe(recipe.data, recipe.source)
    if restored is not None:
        task = task_cls.from_files(restored.files, recipe.to_dict())
    parts = splits if isinstance(splits, dict) else {"train": splits.train, "dev": splits.dev, "test": splits.test}
    data_report = report_data(recipe, task, parts, getattr(splits, "dropped", {}), out)
    train_split, dev_split, test_split = (task.encode(parts[s]) for s in ("train", "dev", "test"))
    model, model_config = registry.build(task.model_section(recipe.model), recipe.source)
    check_free_space(out_dir, model)
    vectors_report, encoder_report = pretrained_start(recipe, task, model, model_config, out) if not resume else (None, None)
    if cfg.precision == "fp64":
        model.double()
    model.to(device)
    out_dir.mkdir(parents=True, exist_ok=True)
    if world.main:
        (out_dir / "recipe.yaml").write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False), encoding="utf-8")
    pads = announce(recipe, task, model, model_config, (train_split, dev_split, test_split), threads, device, world, out)
    loop_info = train_model(recipe, task, model, model_config, train_split, dev_split, out_dir, out, resume, progress,
                            governor, world)
    if loop_info is None:  # a rank other than 0: rank 0 saves and scores
        return None

    best = artifact.load(out_dir / "model")
    best.model.to(device)
    results = {
        "recipe": recipe.source,
        "task": recipe.task,
        "model": model_config["name"],
        "parameters": count_parameters(model),
        "vocab_size": len(task.vocab) if task.vocab is not None else None,
        "sizes": {"train": len(train_split), "dev": len(dev_split), "test": len(test_split)},
        "data": data_report,
        "pad_fraction": pads,
        "pretrained_vectors": vectors_report,
        "encoder_from": encoder_report,
        "dev": task.evaluate(best.model, dev_split, cfg.eval_batch_size),
        "test": task.evaluate(best.model, test_split, cfg.eval_batch_size) if len(test_split) else None,
        "training": loop_info,
        "wall_seconds": time.perf_counter() - started,
        "threads": threads,
        "device": str(device),
        **world.describe(cfg.batch_size),
        "cotenancy": {"wait_policy": WAIT_POLICY.as_dict(), **governor.summary()},
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
        "seqlab": __version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    artifact.write_json(out_dir / "results.json", results)
    return results

