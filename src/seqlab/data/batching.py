"""Batching: padding with lengths and masks, and a length-bucketing batch sampler.

Padding puts sequence b's tokens in ``ids[b, :lengths[b]]`` and ``pad_id`` after; every token comes back
in place (``unpad``). Bucketing shuffles the examples, cuts them into pools of ``pool`` batches, sorts each
pool by length and cuts it into batches, then shuffles the batch order: batches hold similar lengths, so
little compute is spent on padding, while every epoch still sees a new order.

>>> ids, lengths = pad([[5, 6, 7], [8]], pad_id=0)
>>> ids.tolist(), lengths.tolist()
([[5, 6, 7], [8, 0, 0]], [3, 1])
>>> unpad(ids, lengths)
[[5, 6, 7], [8]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace

import torch


def pad(seqs: Sequence[Sequence[int]], pad_id: int, min_length: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad integer sequences to ``ids`` [B, T] (T ≥ ``min_length``) and return their ``lengths`` [B]."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    width = max(int(lengths.max()) if len(seqs) else 0, min_length)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    for b, s in enumerate(seqs):
        if len(s):
            ids[b, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return ids, lengths


def unpad(ids: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    return [ids[b, : int(n)].tolist() for b, n in enumerate(lengths)]


def lengths_to_mask(lengths: torch.Tensor, width: int | None = None) -> torch.Tensor:
    """Boolean mask [B, T], True on real tokens."""
    width = int(lengths.max()) if width is None else width
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def bucket_batches(
    lengths: Sequence[int],
    batch_size: int,
    generator: torch.Generator | None = None,
    shuffle: bool = True,
    bucket: bool = True,
    pool: int = 50,
) -> list[list[int]]:
    """Index batches over examples of the given lengths (see module docstring).

    With ``shuffle=False`` the order is deterministic: sorted by length when bucketing (evaluation),
    dataset order otherwise. Every index appears in exactly one batch.
    """
    n = len(lengths)
    order = torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))
    if bucket:
        pool_size = batch_size * pool if shuffle else n
        sorted_order = []
        for start in range(0, n, max(pool_size, 1)):
            chunk = order[start : start + pool_size]
            sorted_order.extend(sorted(chunk, key=lambda i: lengths[i]))
        order = sorted_order
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if shuffle:
        perm = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i] for i in perm]
    if SHARD.world > 1:
        batches = [SHARD.take(batch, position) for position, batch in enumerate(batches)]
    return batches


def to_device(batch, device: torch.device):
    """``batch`` (a task's batch dataclass) with its tensors on ``device``; the same object when they are there."""
    changes = {f.name: value.to(device) for f in fields(batch)
               if torch.is_tensor(value := getattr(batch, f.name)) and value.device != device}
    return replace(batch, **changes) if changes else batch


def device_of(model: torch.nn.Module) -> torch.device:
    """Where ``model``'s weights are (its inputs go there); the CPU for a model without any, or for a stand-in
    that is not a torch module (an exported model called as one)."""
    if not isinstance(model, torch.nn.Module):
        return torch.device("cpu")
    tensor = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def cast_floats(batch, dtype: torch.dtype):
    """``batch`` (a task's batch dataclass) with its floating tensors in ``dtype`` (a float64 run's inputs)."""
    changes = {f.name: value.to(dtype) for f in fields(batch)
               if torch.is_tensor(value := getattr(batch, f.name)) and value.is_floating_point() and value.dtype != dtype}
    return replace(batch, **changes) if changes else batch


@dataclass
class Shard:
    """This process's part of every training batch under data parallelism (``seqlab.training.distributed``).

    The global batches are drawn exactly as in one process (same seed, same epoch, same ``batch_size``); rank
    ``rank`` of ``world`` keeps its contiguous piece of each: a batch of b examples is cut into ``world``
    pieces of ⌈b/world⌉ or ⌊b/world⌋ (the first b mod world ranks take one more). So every rank runs the same
    number of steps and together they see each example once per epoch. The remainder: a batch smaller than
    ``world`` (an epoch's last batch) leaves some ranks no example; each such rank trains on a stand-in (the
    batch's first example) whose loss the loop weights 0 — ``stand_ins`` holds those batch positions.
    A language model's stream (``bptt_stream``) is cut into rows as in one process and each rank keeps its
    contiguous rows, so each carries its own hidden state from window to window.
    """

    rank: int = 0
    world: int = 1
    stand_ins: set[int] = field(default_factory=set)

    def take(self, batch: list[int], position: int) -> list[int]:
        size, extra = divmod(len(batch), self.world)
        start = self.rank * size + min(self.rank, extra)
        mine = batch[start : start + size + (self.rank < extra)]
        if not mine:
            self.stand_ins.add(position)
            return batch[:1]
        return mine

    def rows(self, n: int) -> slice:
        """This rank's contiguous rows of ``n`` (a stream's rows; every rank needs at least one)."""
        if n < self.world:
            raise ValueError(f"train.batch_size ({n}) must be at least the number of processes ({self.world}): "
                             "each process needs a row of the language model's stream")
        size, extra = divmod(n, self.world)
        start = self.rank * size + min(self.rank, extra)
        return slice(start, start + size + (self.rank < extra))


SHARD = Shard()  # one process: rank 0 of 1, batches unchanged


@contextmanager
def sharded(rank: int, world: int) -> Iterator[Shard]:
    """Batches built inside are this rank's pieces (``Shard``); evaluation outside sees whole batches."""
    global SHARD
    previous, SHARD = SHARD, Shard(rank, world)
    try:
        yield SHARD
    finally:
        SHARD = previous


def pad_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Fraction of the padded [B, T] cells that hold padding rather than tokens."""
    cells = tokens = 0
    for batch in batches:
        ls = [max(lengths[i], 1) for i in batch]
        cells += max(ls) * len(ls)
        tokens += sum(ls)
    return 1.0 - tokens / cells if cells else 0.0


IGNORE_INDEX = -100  # cross_entropy's default ignore_index: padded tag / target positions


def pad_tagged(seqs: Sequence[Sequence[int]], tags: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, ...]:
    """Aligned N → N (tagging): ids [B, T], tags [B, T] (``IGNORE_INDEX`` on padding), lengths [B].

    >>> ids, tags, lengths = pad_tagged([[5, 6], [7]], [[1, 2], [3]], pad_id=0)
    >>> tags.tolist()
    [[1, 2], [3, -100]]
    """
    for i, (s, t) in enumerate(zip(seqs, tags)):
        if len(s) != len(t):
            raise ValueError(f"example {i}: {len(s)} tokens but {len(t)} tags")
    ids, lengths = pad(seqs, pad_id)
    tag_ids, _ = pad(tags, IGNORE_INDEX)
    return ids, tag_ids[:, : ids.size(1)], lengths


def teacher_forcing(targets: Sequence[Sequence[int]], pad_id: int, bos_id: int, eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The decoder's input ``<bos> y`` [B, S+1] (``pad_id`` on padding) and what it predicts, ``y <eos>``
    [B, S+1] (``IGNORE_INDEX`` on padding).

    >>> tgt_in, tgt_out = teacher_forcing([[8, 9], [7]], pad_id=0, bos_id=2, eos_id=3)
    >>> tgt_in.tolist(), tgt_out.tolist()
    ([[2, 8, 9], [2, 7, 0]], [[8, 9, 3], [7, 3, -100]])
    """
    tgt_in, _ = pad([[bos_id, *t] for t in targets], pad_id)
    tgt_out, _ = pad([[*t, eos_id] for t in targets], IGNORE_INDEX)
    return tgt_in, tgt_out


def pad_pairs(sources: Sequence[Sequence[int]], targets: Sequence[Sequence[int]], pad_id: int, bos_id: int,
              eos_id: int) -> dict[str, torch.Tensor]:
    """N → M (seq2seq) with teacher forcing: the decoder reads ``<bos> y`` and predicts ``y <eos>``.

    Returns src [B, T], src_lengths [B], tgt_in [B, S+1], tgt_out [B, S+1] (``IGNORE_INDEX`` on padding),
    tgt_lengths [B] (= len(y) + 1).

    >>> b = pad_pairs([[5, 6, 7]], [[8, 9]], pad_id=0, bos_id=2, eos_id=3)
    >>> b["tgt_in"].tolist(), b["tgt_out"].tolist()
    ([[2, 8, 9]], [[8, 9, 3]])
    """
    src, src_lengths = pad(sources, pad_id)
    tgt_in, tgt_out = teacher_forcing(targets, pad_id, bos_id, eos_id)
    tgt_lengths = torch.tensor([len(t) + 1 for t in targets])
    return {"src": src, "src_lengths": src_lengths, "tgt_in": tgt_in, "tgt_out": tgt_out, "tgt_lengths": tgt_lengths}


def bptt_stream(ids: Sequence[int], batch_size: int) -> torch.Tensor:
    """Contiguous batching for language models (Zaremba et al. 2014): the token stream cut into
    ``batch_size`` rows [B, N]; row b continues where its last window ended, so the hidden state can be
    carried from one window to the next. The tail that does not fill a row is dropped.

    >>> bptt_stream(range(10), 3).tolist()
    [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    """
    n = len(ids) // batch_size
    stream = torch.as_tensor(list(ids[: n * batch_size]), dtype=torch.long).view(batch_size, n)
    return stream[SHARD.rows(batch_size)] if SHARD.world > 1 else stream


def bptt_windows(stream: torch.Tensor, bptt: int):
    """(inputs [B, ≤bptt], targets [B, ≤bptt]) windows over a [B, N] stream; targets are inputs shifted by one.

    >>> [(x.tolist(), y.tolist()) for x, y in bptt_windows(torch.arange(7).view(1, 7), 3)]
    [([[0, 1, 2]], [[1, 2, 3]]), ([[3, 4, 5]], [[4, 5, 6]])]
    """
    for start in range(0, stream.size(1) - 1, bptt):
        width = min(bptt, stream.size(1) - 1 - start)
        yield stream[:, start : start + width], stream[:, start + 1 : start + 1 + width]
