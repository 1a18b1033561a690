"""Training with the paper's recipe: SGD + Nesterov, step lr decay, crop+flip augmentation.

``python -m landscape train --model resnet20 --dataset synthetic --epochs 5 --out runs/r20``

The data set sits on the device as uint8; each epoch's shuffle and augmentation draw from a
generator seeded by (seed, epoch), so an epoch's randomness does not depend on what ran
before it: a run resumed from its last epoch ends bit-identical (on CPU) to an uninterrupted
one. A ``resume.pt`` is written after every epoch; scheduled checkpoints are ``epoch_NNN.pt``
and the finished model is ``final.pt``, beside ``metrics.csv``.

Fast path (``precision``, ``compile``; docs/speed.md): ``precision="auto"`` trains in TF32 on
CUDA and in plain float32 on a CPU; ``bf16`` autocasts the forward pass. ``compile=True``
compiles the model with ``torch.compile`` (on CUDA in "reduce-overhead" mode, which replays
forward and backward as CUDA graphs: at batch 128 the step is bound by kernel launches) and
uses the fused SGD kernel. Same recipe, same data order and augmentation draws; only the
floating-point rounding differs. On a CPU the defaults run the plain loop, bit for bit.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from landscape import __version__, faults, resources
from landscape import data as datasets
from landscape import precision as policy
from landscape.atomic import atomic_outputs, write_error
from landscape.checkpoint import read_checkpoint, save_checkpoint
from landscape.compiled import Compiled, compile_error
from landscape.configs import TrainConfig
from landscape.device import generator, resolve_device
from landscape.errors import LandscapeError
from landscape.evaluate import evaluate
from landscape.models import get_model
from landscape.paths import check_output_folder

log = logging.getLogger(__name__)

METRICS_COLUMNS = ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"]
_ADDED_SETTINGS = ("precision", "compile")  # absent from configs saved before they existed
RESUME_FILE = "resume.pt"
FINAL_FILE = "final.pt"
# Settings that do not change the computed weights; a resume may differ in these.
_RESUME_NEUTRAL = ("data_dir", "device", "eval_batch_size", "compile")


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate used during ``epoch`` (1-based): decayed once per milestone passed."""
    return cfg.lr * cfg.gamma ** sum(epoch > m for m in cfg.milestones)


def checkpoint_epochs(cfg: TrainConfig) -> list[int]:
    """Epochs whose weights are kept: 0, 1, every ``save_every``, the milestones, the last."""
    keep = {0, 1, cfg.epochs} | set(range(cfg.save_every, cfg.epochs + 1, cfg.save_every))
    keep |= {m for m in cfg.milestones if m <= cfg.epochs}
    return sorted(e for e in keep if e <= cfg.epochs)


def checkpoint_name(epoch: int) -> str:
    return f"epoch_{epoch:03d}.pt"


def load_split(cfg: TrainConfig, split: str) -> datasets.ImageSet:
    full = datasets.load(cfg.dataset, split, cfg.data_dir)
    size = cfg.train_size if split == "train" else cfg.test_size
    return full.select(datasets.subset_indices(len(full), size, cfg.subset_rule, cfg.seed))


def train(
    cfg: TrainConfig,
    out_dir: str | Path,
    restart: bool = False,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    restart_if_changed: bool = False,
) -> Path:
    """Train (or resume) ``cfg`` into ``out_dir``; returns the path of ``final.pt``.

    A ``resume.pt`` of the same settings is continued; one of other settings is refused,
    unless ``restart`` (always start afresh) or ``restart_if_changed`` (start afresh only
    then: what a workflow wants when a changed recipe reruns the job). Starting afresh
    removes the earlier run's checkpoints and metrics. ``progress=None`` shows a bar only on
    a terminal. ``on_epoch_end(epoch, row)`` runs after each epoch's files are written
    (tests use it to simulate a kill).
    """
    cfg.validate()
    out = check_output_folder(out_dir)
    device = resolve_device(cfg.device)
    resume = out / RESUME_FILE
    state = None if restart else _read_resume(resume, cfg, refuse=not restart_if_changed)
    model = get_model(cfg.model, seed=cfg.seed)
    train_set, test_set = load_split(cfg, "train"), load_split(cfg, "test")
    _check_sizes(cfg, model, train_set, test_set, device, out, state)
    train_set, test_set = train_set.to(device), test_set.to(device)
    if state is None:
        _discard_previous_run(out)

    model.to(device)
    fused = cfg.compile and device.type == "cuda"
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
        weight_decay=cfg.weight_decay, nesterov=cfg.nesterov, fused=fused or None,
    )
    history: list[dict[str, float]] = []
    start = 0
    if state is not None:
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        history, start = list(state["history"]), int(state["epoch"])
        for group in optimizer.param_groups:  # an execution detail, not part of the state
            group["fused"] = fused or None
    else:
        _save(out / checkpoint_name(0), model, optimizer, cfg, 0, {}, history)

    keep = set(checkpoint_epochs(cfg))
    fallback = (state or {}).get("compile_error")  # an earlier part of the run fell back
    step = make_train_step(model, optimizer, precision=cfg.precision, compile=cfg.compile,
                           device=device, normalization=(train_set.mean, train_set.std))
    log.info("%s", start_line(cfg, start, len(train_set), len(test_set), device, out))
    run_started = time.perf_counter()
    for epoch in range(start + 1, cfg.epochs + 1):
        with policy.cudnn_benchmark(cfg.compile and device.type == "cuda"), _out_of_memory(cfg):
            row = _train_epoch(model, step, optimizer, train_set, cfg, epoch, device, progress)
            row["test_loss"], row["test_acc"] = evaluate(model, test_set, cfg.eval_batch_size)
        history.append(row)
        write_metrics(out / "metrics.csv", history)
        fallback = compile_error(step.forward) or fallback
        if epoch in keep:
            _save(out / checkpoint_name(epoch), model, optimizer, cfg, epoch, row, history,
                  fallback)
        _save(resume, model, optimizer, cfg, epoch, row, history, fallback)
        per_epoch = (time.perf_counter() - run_started) / (epoch - start)
        log.info("%s", epoch_line(row, cfg.epochs, per_epoch * (cfg.epochs - epoch)))
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    final = out / FINAL_FILE
    _save(final, model, optimizer, cfg, cfg.epochs, history[-1] if history else {}, history,
          fallback)
    write_metrics(out / "metrics.csv", history)
    return final


def start_line(cfg: TrainConfig, start: int, train_images: int, test_images: int,
               device: torch.device, out: Path) -> str:
    """What a training run is about to do: start, resume (from which epoch), or nothing."""
    if start >= cfg.epochs:
        return f"{cfg.model}: all {cfg.epochs} epochs already trained in {out}"
    what = (f"resuming {cfg.model} at epoch {start + 1} of {cfg.epochs}" if start
            else f"training {cfg.model}: {cfg.epochs} epochs")
    return f"{what} on {train_images} {cfg.dataset} images ({test_images} test images), {device}"


def epoch_line(row: dict[str, float], epochs: int, eta_seconds: float) -> str:
    """One line per epoch for logs and terminals: the metrics.csv row, and time to the end."""
    return (f"epoch {int(row['epoch'])}/{epochs}: train loss {row['train_loss']:.4f}, "
            f"acc {row['train_acc']:.2f}%; test loss {row['test_loss']:.4f}, acc "
            f"{row['test_acc']:.2f}%; lr {row['lr']:.4g}; {row['seconds']:.1f} s; "
            f"ETA {duration(eta_seconds)}")


def duration(seconds: float) -> str:
    """``42 s``, ``12 min 05 s``, ``3 h 07 min``: an ETA at the precision it deserves."""
    seconds = round(max(seconds, 0.0))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


TrainStep = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def make_train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    precision: str = "auto",
    compile: bool = False,
    device: torch.device | None = None,
    normalization: tuple[tuple[float, ...], tuple[float, ...]] = (datasets.MEAN, datasets.STD),
) -> TrainStep:
    """``step(images, labels) -> (loss, logits)``: one SGD step on a uint8 batch, detached.

    With ``precision`` fp32 (or ``auto`` on a CPU) and ``compile=False`` this is exactly the
    plain step: normalize (``normalization``: the data set's mean and std, default the
    paper's CIFAR-10 constants), forward, mean cross-entropy, backward, optimizer step. With
    ``compile`` the forward pass is a ``landscape.compiled.Compiled``: if compilation fails
    on this machine the step runs eagerly, and ``compile_error(step.forward)`` says why.
    """
    device = device or next(model.parameters()).device
    mode = policy.training_precision(precision, device)
    forward = model
    cuda_graphs = compile and device.type == "cuda"
    if compile:
        forward = Compiled(model, "the model's forward pass",
                           mode="reduce-overhead" if cuda_graphs else None, dynamic=False)

    def step(images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if cuda_graphs:  # a new iteration: earlier graph outputs may be overwritten
            torch.compiler.cudagraph_mark_step_begin()
        with policy.flags_context(mode, device):
            with policy.autocast_context(mode, device):
                logits = forward(datasets.normalize(images, torch.float32, *normalization))
                loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return loss.detach(), logits.detach()

    step.forward = forward  # type: ignore[attr-defined]
    return step


def _train_epoch(model, step, optimizer, train_set, cfg, epoch, device, progress) -> dict[str, float]:
    lr = lr_at(cfg, epoch)
    for group in optimizer.param_groups:
        group["lr"] = lr
    model.train()
    gen = generator(cfg.seed, epoch, device=device)
    order = torch.randperm(len(train_set), generator=gen, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    started = time.perf_counter()
    bar = tqdm(
        total=len(train_set), desc=f"epoch {epoch}/{cfg.epochs}", unit="img", unit_scale=True,
        disable=(None if progress is None else not progress), leave=False,
    )
    for first in range(0, len(train_set), cfg.batch_size):
        idx = order[first : first + cfg.batch_size]
        images, labels = train_set.images[idx], train_set.labels[idx]
        if cfg.augment:
            images = datasets.augment(images, gen)
        loss, logits = step(images, labels)
        faults.reached("batch")
        loss_sum += loss.double() * len(idx)
        correct += (logits.argmax(1) == labels).sum()
        bar.update(len(idx))
    bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    n = len(train_set)
    return {
        "epoch": epoch,
        "lr": lr,
        "train_loss": loss_sum.item() / n,
        "train_acc": 100.0 * correct.item() / n,
        "seconds": time.perf_counter() - started,
    }


def _save(path, model, optimizer, cfg, epoch, row, history, fallback=None) -> None:
    save_checkpoint(path, {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "arch": cfg.model,
        "epoch": epoch,
        "acc": row.get("test_acc"),  # the reference's key
        "metrics": dict(row),
        "optimizer": _to_cpu(optimizer.state_dict()),
        # Epoch e's shuffle and augmentation come from a generator seeded by (seed, e), so the
        # seed and the epoch are the whole RNG state needed to continue.
        "rng": {"seed": cfg.seed, "next_epoch": epoch + 1},
        "config": cfg.as_dict(),
        "history": list(history),
        "version": __version__,
        # torch.compile failed on this machine and the run went on eagerly (why), or None
        "compile_error": fallback,
    })


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return obj


def _discard_previous_run(out: Path) -> None:
    """Remove what an earlier run left in ``out``, so no stale checkpoint outlives it."""
    for path in [*out.glob("epoch_*.pt"), out / RESUME_FILE, out / FINAL_FILE,
                 out / "metrics.csv"]:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise write_error(path, exc) from exc


def _check_sizes(cfg: TrainConfig, model: torch.nn.Module, train_set: datasets.ImageSet,
                 test_set: datasets.ImageSet, device: torch.device, out: Path,
                 state: dict[str, Any] | None) -> None:
    """Refuse a run whose data cannot sit on the device or whose checkpoints still to write
    cannot fit on disk."""
    resources.check_device_data("training", {"training": train_set, "test": test_set}, device,
                                "train on fewer images (--train-size, --test-size)")
    params = sum(p.numel() for p in model.parameters())
    done = -1 if state is None else int(state["epoch"])
    # epoch_NNN.pt still to come, resume.pt (written beside the old one), final.pt
    files = sum(epoch > done for epoch in checkpoint_epochs(cfg)) + 2
    resources.check_disk(f"training {cfg.model} into {out} ({files} checkpoints)", out,
                         files * resources.checkpoint_bytes(params),
                         "free some space, keep fewer checkpoints (--save-every) or choose "
                         "another --out")


@contextlib.contextmanager
def _out_of_memory(cfg: TrainConfig) -> Iterator[None]:
    """An out-of-memory error of the device as one line: the batch sizes to lower."""
    try:
        yield
    except torch.OutOfMemoryError as exc:
        raise LandscapeError(
            f"the device ran out of memory training at --batch-size {cfg.batch_size} "
            f"(--eval-batch-size {cfg.eval_batch_size}); lower them"
        ) from exc


def _read_resume(path: Path, cfg: TrainConfig, refuse: bool = True) -> dict[str, Any] | None:
    """The resume state in ``path`` if it belongs to ``cfg``; else refuse it (or ignore it)."""
    if not path.exists():
        return None
    state = read_checkpoint(path)
    wanted = cfg.as_dict()
    # A run saved before a setting existed was trained as that setting's default says.
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)
                if f.default is not dataclasses.MISSING}
    saved = {**{k: v for k, v in defaults.items() if k in _ADDED_SETTINGS},
             **state.get("config", {})}
    differ = sorted(
        k for k in set(saved) | set(wanted)
        if k not in _RESUME_NEUTRAL and saved.get(k) != wanted.get(k)
    )
    if differ and not refuse:
        return None
    if differ:
        raise LandscapeError(
            f"{path} belongs to a run with different settings ({', '.join(differ)});"
            " pass --restart (or --restart-if-changed) to discard it or choose another --out"
        )
    return state


def write_metrics(path: Path, history: list[dict[str, float]]) -> None:
    """One row per epoch, rewritten atomically so a kill never leaves a torn CSV."""
    with atomic_outputs(path) as (temp,), open(temp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=METRICS_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
