"""Optimisers and learning-rate schedules named in a recipe's ``train`` section.

Schedules multiply the base learning rate by a factor:

* ``constant`` — 1;
* ``step`` — full rate for the first ``decay_after`` epochs (default ``decay_every``), then × ``decay`` every
  ``decay_every`` epochs (Zaremba et al.: 0.5 per epoch after 4 of 13);
* ``plateau`` — × ``decay`` after every epoch whose dev metric did not improve (Zaremba et al.'s and
  AWD-LSTM's "decay on plateau");
* ``linear`` — linear warm-up over ``warmup_steps``, then linear decay to 0 at the last step;
* ``slanted`` — ULMFiT's slanted triangular rates (Howard & Ruder 2018, eq. 3): over T steps with
  cut = ⌊T · slanted_fraction⌋, p = t / cut while t < cut, else 1 − (t − cut) / (T − cut), and the factor is
  (1 + p · (ratio − 1)) / ratio: a short rise from lr/ratio to lr, then a long fall back.

Discriminative rates (``lr_group_decay`` d, ULMFiT eq. 2): parameter group g counted from the top (0 = head)
learns at lr / dᵍ; the schedule's factor multiplies each group's own rate.

Any schedule also warms up linearly over ``warmup_steps`` when that is > 0.
"""

from __future__ import annotations

import torch

from ..config import OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig



def discriminative_groups(groups: list[list[torch.nn.Parameter]], cfg: TrainConfig) -> list[dict]:
    """Optimiser parameter groups from layer groups ordered bottom to top: group g from the top at lr / dᵍ."""
    decay = cfg.lr_group_decay or 1.0
    top = len(groups) - 1
    return [{"params": [p for p in group if p.requires_grad], "lr": cfg.lr / decay ** (top - g)}
            for g, group in enumerate(groups)]


def build_optimizer(params, cfg: TrainConfig, source: str = "<recipe>") -> torch.optim.Optimizer:
    """``params``: parameters, or parameter groups (dicts with their own ``lr``, ``discriminative_groups``)."""
    params = list(params)
    if not (params and isinstance(params[0], dict)):
        params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adadelta":  # Kim (2014): rho 0.95, eps 1e-6
        return torch.optim.Adadelta(params, lr=cfg.lr, rho=0.95, eps=1e-6, weight_decay=cfg.weight_decay)
    raise ConfigError(f"{source}: train.optimizer: unknown optimizer {cfg.optimizer!r} (known: {', '.join(OPTIMIZERS)})")


def slanted(t: int, total: int, fraction: float = 0.1, ratio: float = 32.0) -> float:
    """ULMFiT's slanted triangular factor at step t of ``total`` (1 at the peak, 1/ratio at both ends)."""
    cut = max(1, int(total * fraction))
    p = t / cut if t < cut else max(0.0, 1 - (t - cut) / max(total - cut, 1))
    return (1 + p * (ratio - 1)) / ratio


class Schedule:
    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int, source: str = "<recipe>"):
        if cfg.schedule not in SCHEDULES:
            raise ConfigError(f"{source}: train.schedule: unknown schedule {cfg.schedule!r} (known: {', '.join(SCHEDULES)})")
        self.optimizer, self.cfg, self.total_steps = optimizer, cfg, max(total_steps, 1)
        self.base = [g["lr"] for g in optimizer.param_groups]
        self.factor = 1.0  # epoch-level factor (step / plateau)
        self.step_count = 0
        self._apply()

    def _apply(self) -> None:
        warm = self.cfg.warmup_steps
        factor = self.factor
        if warm and self.step_count < warm:
            factor *= (self.step_count + 1) / warm
        elif self.cfg.schedule == "linear":
            span = max(self.total_steps - warm, 1)
            factor *= max(0.0, 1.0 - (self.step_count - warm) / span)
        elif self.cfg.schedule == "slanted":
            factor *= slanted(self.step_count, self.total_steps, self.cfg.slanted_fraction, self.cfg.slanted_ratio)
        for group, base in zip(self.optimizer.param_groups, self.base):
            group["lr"] = base * factor

    def after_batch(self) -> None:
        self.step_count += 1
        self._apply()

    def after_epoch(self, epochs_done: int, improved: bool) -> None:
        if self.cfg.schedule == "step":
            every = max(self.cfg.decay_every, 1)
            after = every if self.cfg.decay_after is None else self.cfg.decay_after
            decays = (epochs_done - after) // every + 1 if epochs_done >= after else 0
            self.factor = self.cfg.decay ** decays
        elif self.cfg.schedule == "plateau" and not improved:
            self.factor *= self.cfg.decay
        self._apply()

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def state_dict(self) -> dict:
        return {"factor": self.factor, "step_count": self.step_count}

    def load_state_dict(self, state: dict) -> None:
        self.factor, self.step_count = state["factor"], state["step_count"]
        self._apply()


def apply_max_norm(named_params: dict[str, torch.nn.Parameter], names: list[str], max_norm: float) -> None:
    """Rescale each row of the named weights to l2 norm ≤ ``max_norm`` (Kim 2014's constraint)."""
    with torch.no_grad():
        for name in names:
            w = named_params[name]
            norms = w.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            w.mul_((max_norm / norms).clamp(max=1.0))
