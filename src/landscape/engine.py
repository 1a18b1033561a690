"""Fast sweep evaluator: loss and accuracy of a model's *current* weights over a whole data set.

``evaluate = make_evaluator(model, data, precision="auto")`` once per sweep, then, after each
in-place move of the weights (``theta* + a*dx + b*dy``, running statistics too for ``states``
directions), ``loss, acc = evaluate()``. It computes the same function as the plain
``landscape.evaluate.evaluate`` (eval mode, mean cross-entropy, accuracy in %), faster:

- eval-mode BatchNorm is folded into the convolution (or Linear) before it: the folded
  weights are recomputed from the current parameters and running statistics at every call,
  a few hundred tiny ops, and each BatchNorm pass over the activations disappears;
- the data stays on the device as uint8 and is normalized batch by batch;
- on a CPU, one stream of small batches per core, each op single-threaded;
- sums stay on the device: one synchronization per call, none per batch;
- bf16/TF32 by the precision policy (``landscape.precision``), channels-last activations,
  cuDNN autotuning on CUDA, optional ``torch.compile`` of the whole per-batch step;
- on CUDA the batch is sized from free memory and halved on out-of-memory instead of failing.

Measured speed-ups and errors: docs/speed.md.
"""

from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from landscape import precision as policy
from landscape.compiled import Compiled, compile_error
from landscape.data import ImageSet
from landscape.errors import LandscapeError
from landscape.evaluate import LossFn, batch_sums, floating_dtype

CPU_BATCH = 64  # per core: small batches keep a CPU's activations in cache (docs/speed.md)
MAX_CPU_STREAMS = 8
MAX_CUDA_BATCH = 8192
CUDA_MEMORY_SHARE = 0.5  # of the free memory, for activations; the rest is headroom


@dataclass
class _Fold:
    """One foldable pair: the model's layer and BatchNorm (shared), and our fused layer."""

    layer: nn.Conv2d | nn.Linear
    bn: nn.BatchNorm1d | nn.BatchNorm2d
    fused: nn.Conv2d | nn.Linear

    @torch.no_grad()
    def refresh(self) -> None:
        """fused = layer then bn, from their current values (eval mode: running statistics)."""
        bn, w = self.bn, self.layer.weight
        scale = torch.rsqrt(bn.running_var + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight
        shift = -bn.running_mean * scale
        if bn.bias is not None:
            shift = shift + bn.bias
        if self.layer.bias is not None:
            shift = shift + self.layer.bias * scale
        self.fused.weight.copy_(w * scale.view(-1, *([1] * (w.dim() - 1))))
        self.fused.bias.copy_(shift)


def fold_batchnorm(model: nn.Module, sample: torch.Tensor) -> tuple[nn.Module, list[_Fold]]:
    """A graph of ``model`` in which each Conv2d->BatchNorm2d and Linear->BatchNorm1d is one layer.

    Every other module stays *shared* with ``model``, so in-place changes to its parameters
    are seen; the fused layers are ours and must be ``refresh``-ed after each change. A pair
    folds only where the layer's output feeds nothing but the BatchNorm and the BatchNorm
    uses running statistics; anything else runs unfolded. ``sample`` (a normalized batch)
    fixes tensor shapes, so a Linear folds only when BatchNorm1d normalizes its features.
    Raises ``torch.fx`` errors for models that cannot be traced (the caller falls back).
    """
    graph_module = fx.symbolic_trace(model)
    ShapeProp(graph_module).propagate(sample)
    modules = dict(graph_module.named_modules())
    folds: list[_Fold] = []
    for node in list(graph_module.graph.nodes):
        pair = _foldable(node, modules)
        if pair is None:
            continue
        layer_node, layer, bn = pair
        fused = copy.deepcopy(layer).requires_grad_(False)
        if fused.bias is None:
            fused.bias = nn.Parameter(fused.weight.new_zeros(fused.weight.shape[0]), requires_grad=False)
        name = f"folded_{len(folds)}"
        graph_module.add_submodule(name, fused)
        layer_node.target = name
        node.replace_all_uses_with(layer_node)
        graph_module.graph.erase_node(node)
        folds.append(_Fold(layer, bn, fused))
    graph_module.graph.lint()
    graph_module.delete_all_unused_submodules()
    graph_module.recompile()
    return graph_module, folds


def _foldable(node: fx.Node, modules: dict[str, nn.Module]):
    if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
        return None
    bn = modules.get(node.target)
    if not isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d)) or bn.running_var is None:
        return None
    prev = node.args[0]
    if not isinstance(prev, fx.Node) or prev.op != "call_module" or len(prev.users) != 1:
        return None
    layer = modules.get(prev.target)
    conv_pair = isinstance(layer, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
    shape = getattr(prev.meta.get("tensor_meta"), "shape", None)
    linear_pair = (isinstance(layer, nn.Linear) and isinstance(bn, nn.BatchNorm1d)
                   and shape is not None and len(shape) == 2)
    if not (conv_pair or linear_pair) or layer.weight.shape[0] != bn.num_features:
        return None
    return prev, layer, bn


class Evaluator:
    """``evaluator()`` -> (mean loss, accuracy %) of the model's current weights.

    Attributes a sweep may record: ``precision`` (the resolved mode), ``batch_size``,
    ``folded`` (BatchNorm layers folded), ``compiled`` (False also after ``torch.compile``
    failed and the step fell back to eager, see ``landscape.compiled``), and ``choice`` (what
    ``auto`` measured).
    """

    def __init__(
        self,
        model: nn.Module,
        data: ImageSet,
        *,
        precision: str = "fp32",
        batch_size: int | None = None,
        fold_bn: bool = True,
        compile: bool = False,
        loss_fn: LossFn | None = None,
    ) -> None:
        policy.check_precision(precision)
        if len(data) == 0:
            raise LandscapeError("cannot evaluate on an empty data set")
        if batch_size is not None and batch_size < 1:
            raise LandscapeError(f"batch_size must be at least 1, got {batch_size}")
        self.model, self.data, self.loss_fn = model, data, loss_fn
        self.device = next(model.parameters()).device
        if data.images.device != self.device:
            raise LandscapeError(
                f"data on {data.images.device} but the model on {self.device}: move them together"
            )
        self.dtype = floating_dtype(model)
        precision = _precision_for_dtype(precision, self.dtype)
        self.classified = data.labels.dim() == 1 and not data.labels.is_floating_point()
        # NHWC: cuDNN's fastest bf16/TF32 kernels; on a CPU oneDNN skips a reorder per layer
        self.channels_last = self.device.type in ("cuda", "cpu") and data.images.dim() == 4
        self.choice: policy.PrecisionChoice | None = None
        self.folds: list[_Fold] = []
        self.fold_error: str | None = None
        self.net: nn.Module = model
        if fold_bn:
            self._fold()
        if precision == "auto":
            self.choice = policy.choose(model, data, self._probe_loss, loss_fn=loss_fn)
            precision = self.choice.name
        self.precision = policy.effective(precision, self.device)
        self._step = (Compiled(self._batch_stats, "the evaluation step", dynamic=False)
                      if compile else self._batch_stats)
        self.batch_size = min(batch_size or self._default_batch(), len(data))
        if compile:
            # Compile every batch shape here, one shard after another in this thread, with
            # single-threaded kernels: the worker threads then only run compiled code, and a
            # compilation that fails (falling back to eager) does so before describe().
            self._run(self._step, self.batch_size, sequential=True)

    @property
    def compiled(self) -> bool:
        """Whether the per-batch step runs compiled (False after a fallback to eager)."""
        return isinstance(self._step, Compiled) and self._step.active

    def _probe_loss(self, model: nn.Module, probe: ImageSet, mode: str) -> float:
        """Loss of ``model`` on ``probe`` through the fast path (eager) in ``mode``: for ``auto``."""
        return Evaluator(model, probe, precision=mode, loss_fn=self.loss_fn)()[0]

    @property
    def folded(self) -> int:
        return len(self.folds)

    def describe(self) -> dict[str, object]:
        """How this evaluator runs, for a surface file's provenance attributes."""
        return {
            "precision": self.precision,
            "batch_size": self.batch_size,
            "folded_batchnorms": self.folded,
            "compiled": self.compiled,
            "compile_error": compile_error(self._step),
            "device": str(self.device),
            "precision_probe_max_error": self.choice.max_error() if self.choice else None,
        }

    def _fold(self) -> None:
        sample = self.data.inputs(self.data.images[:2], self.dtype)
        was_training = self.model.training
        self.model.eval()  # shape propagation must not touch the running statistics
        try:
            with torch.no_grad():
                self.net, self.folds = fold_batchnorm(self.model, sample)
        except Exception as exc:  # untraceable model: evaluate unfolded, say why
            self.fold_error = f"{type(exc).__name__}: {exc}"
            return
        finally:
            self.model.train(was_training)
        if self.channels_last:  # our fused layers only: the model's own tensors stay as they are
            for fold in self.folds:
                fold.fused.to(memory_format=torch.channels_last)

    def _default_batch(self) -> int:
        if self.device.type != "cuda":
            return CPU_BATCH
        free, _ = torch.cuda.mem_get_info(self.device)
        per_image = self._bytes_per_image()
        fit = int(CUDA_MEMORY_SHARE * free // max(per_image, 1))
        return max(1, min(MAX_CUDA_BATCH, 2 ** int(math.log2(max(fit, 1)))))

    def _bytes_per_image(self, probe: int = 64) -> int:
        """Peak activation bytes per image of one eval batch, measured on ``probe`` images."""
        n = min(probe, len(self.data))
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        base = torch.cuda.memory_allocated(self.device)
        self._run(self._batch_stats, n, limit=n)
        torch.cuda.synchronize(self.device)
        return (torch.cuda.max_memory_allocated(self.device) - base) // n

    def __call__(self) -> tuple[float, float]:
        while True:
            try:
                loss_sum, correct = self._run(self._step, self.batch_size)
                break
            except torch.OutOfMemoryError:
                if self.batch_size == 1:
                    raise
                self.batch_size //= 2  # shrink instead of failing; the pass restarts
                torch.cuda.empty_cache()
        n = len(self.data)
        accuracy = 100.0 * correct.item() / n if self.classified else float("nan")
        return loss_sum.item() / n, accuracy

    def _run(self, step, batch_size: int, limit: int | None = None, sequential: bool = False):
        """Sum of losses (float64) and count of correct predictions, kept on the device."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for fold in self.folds:
                    fold.refresh()
            n = len(self.data) if limit is None else limit
            shards = self._shards(n, batch_size)
            if len(shards) == 1:
                return self._sum(step, 0, n, batch_size)
            jobs = [(self._sum, (step, a, b, batch_size)) for a, b in shards]
            return _in_threads(jobs, parallel=not sequential)
        finally:
            self.model.train(was_training)

    def _shards(self, n: int, batch_size: int) -> list[tuple[int, int]]:
        """On a CPU, one contiguous shard per core, each run single-threaded (see _in_threads)."""
        streams = min(torch.get_num_threads(), MAX_CPU_STREAMS)
        if self.device.type != "cpu" or streams < 2:
            return [(0, n)]
        size = -(-n // streams)  # ceil
        size = -(-size // batch_size) * batch_size  # whole batches where possible
        return [(a, min(a + size, n)) for a in range(0, n, size)]

    def _sum(self, step, start: int, stop: int, batch_size: int):
        # Grad mode and autocast are per thread: set them here, in the thread that runs.
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        with (torch.no_grad(), policy.precision_context(self.precision, self.device),
              policy.cudnn_benchmark(self.device.type == "cuda")):
            for first in range(start, stop, batch_size):
                last = min(first + batch_size, stop)
                batch_loss, batch_correct = step(self.data.images[first:last],
                                                 self.data.labels[first:last])
                loss_sum += batch_loss
                correct += batch_correct
        return loss_sum, correct

    def _batch_stats(self, images: torch.Tensor, labels: torch.Tensor):
        x = self.data.inputs(images, self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        loss, correct = batch_sums(self.net(x), labels, self.loss_fn)
        return loss, (torch.zeros((), dtype=torch.int64, device=loss.device)
                      if correct is None else correct)


def _in_threads(jobs, parallel: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``(fn, args)`` jobs in threads with one intra-op thread each; add their results.

    On a CPU, small convolutions scale poorly across cores (a barrier per op); one stream of
    batches per core, each op single-threaded, measured faster (docs/speed.md). The threads
    release the GIL inside every op.
    """
    threads = torch.get_num_threads()
    results: list = [None] * len(jobs)

    def work(i: int) -> None:
        fn, args = jobs[i]
        try:
            results[i] = fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            results[i] = exc

    torch.set_num_threads(1)
    try:
        if parallel:
            pool = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
        else:
            for i in range(len(jobs)):
                work(i)
    finally:
        torch.set_num_threads(threads)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    loss_sum, correct = results[0]
    for more_loss, more_correct in results[1:]:
        loss_sum, correct = loss_sum + more_loss, correct + more_correct
    return loss_sum, correct


def _precision_for_dtype(precision: str, dtype: torch.dtype) -> str:
    """The precision policy is for float32 models; a float64 model runs as it is (``fp64``)."""
    if dtype == torch.float32:
        return precision
    if dtype == torch.float64:
        if precision != "auto":
            raise LandscapeError(
                f"precision {precision!r} applies to float32 models; this model is float64:"
                " use precision auto (evaluates in float64)"
            )
        return "fp64"
    raise LandscapeError(
        f"the sweep engine evaluates float32 and float64 models; this one is {dtype}:"
        " convert it, or evaluate with landscape.evaluate.evaluate"
    )


def make_evaluator(
    model: nn.Module,
    data: ImageSet,
    *,
    precision: str = "fp32",
    batch_size: int | None = None,
    fold_bn: bool = True,
    compile: bool = False,
    loss_fn: LossFn | None = None,
) -> Evaluator:
    """A zero-argument callable returning (mean loss, accuracy %) of ``model`` over ``data``.

    ``data`` must be on the model's device. The callable reads the model's current
    parameters and buffers at every call; its ``precision`` attribute is the resolved mode
    (``auto`` becomes ``fp32``, ``tf32`` or ``bf16``), to record beside the surface, and
    ``describe()`` gives all of its settings. Build it with the model at the sweep's centre:
    ``auto`` probes the current weights (and a corner of its own), so a resumed sweep
    decides the same way. On CUDA pass ``precision="auto"`` (or ``"tf32"``): ``fp32`` is
    IEEE float32, slower than PyTorch's default, which runs convolutions in TF32.
    """
    return Evaluator(model, data, precision=precision, batch_size=batch_size,
                     fold_bn=fold_bn, compile=compile, loss_fn=loss_fn)
