"""Benchmark: the reference implementation's sweep approach against ours, on one device.

``landscape bench --model resnet20 --images 512 --points 4 --out bench.json``

Both approaches evaluate the same model on the same images at the same grid points of two
random filter-normalized directions:

- reference (as the paper's code does it, shared/REFERENCE.md 7): a DataLoader over PIL
  images (ToTensor + Normalize), batch 128, 2 workers, a ``.item()`` per batch; per point the
  weights are rebuilt on the CPU in float64 from theta* + a*dx + b*dy and copied to the device;
- ours: images resident on the device as uint8, weights moved in place on the device,
  ``landscape.engine.make_evaluator`` at the chosen precision.

Each approach gets one untimed warm-up point (set-up, compilation), then the timed points,
interleaved (ours, reference, ours, ...) so that other load on the machine hits both alike;
seconds per point are the median over the timed points (mean and minimum are kept too). ``rel_error`` compares our loss with a float64 evaluation at every timed
point. Training throughput is a few SGD steps at batch 128, plain and fast path.
``--mode hessian`` times Hessian eigenvalues per point instead (``landscape.hessian_bench``).
"""

from __future__ import annotations

import copy
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from landscape import data as datasets
from landscape import precision as policy
from landscape import resources
from landscape.checkpoint import load_model
from landscape.configs import BenchConfig
from landscape.device import resolve_device
from landscape.directions import align, random_directions
from landscape.engine import make_evaluator
from landscape.errors import LandscapeError
from landscape.models import get_model
from landscape.surface import Mover
from landscape.train import make_train_step

GRID = 51  # the paper's grid: timed points are spread over its 51 x 51 points in [-1, 1]^2
REFERENCE_BATCH = 128
TRAIN_BATCH = 128
TRAIN_WARMUP = 3


def grid_points(count: int) -> list[tuple[float, float]]:
    """``count`` points spread evenly (row-major) over the paper's 51 x 51 grid, corners included."""
    axis = np.linspace(-1.0, 1.0, GRID)
    flat = np.unique(np.linspace(0, GRID * GRID - 1, count).round().astype(int))
    return [(float(axis[i % GRID]), float(axis[i // GRID])) for i in flat]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model} ({torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()})"


def load_inputs(cfg: BenchConfig) -> tuple[nn.Module, datasets.ImageSet]:
    """The model (checkpoint or fresh) and the N images, on the CPU; validated before any timing."""
    if cfg.checkpoint:
        model, _ = load_model(cfg.checkpoint, cfg.model)
    else:
        model = get_model(cfg.model, seed=cfg.seed)
    if cfg.data == "synthetic":
        full = datasets.load("synthetic", "train", cfg.data_dir)
        if cfg.images > len(full):
            raise LandscapeError(
                f"--images {cfg.images} exceeds the synthetic set's {len(full)} training images;"
                " use --data random for larger sizes"
            )
        data = datasets.ImageSet(full.images[: cfg.images].clone(), full.labels[: cfg.images].clone())
    else:
        gen = torch.Generator().manual_seed(cfg.seed)
        data = datasets.ImageSet(
            torch.randint(0, 256, (cfg.images, 3, 32, 32), generator=gen, dtype=torch.uint8),
            torch.randint(0, datasets.NUM_CLASSES, (cfg.images,), generator=gen),
        )
    return model.eval(), data


def check_sizes(cfg: BenchConfig, device: torch.device) -> None:
    """Refuse ``--images`` that cannot fit (host copies: ours and the reference's PIL arrays)."""
    copies = 2 if cfg.reference else 1
    resources.check_memory("the benchmark", [resources.images_need(
        f"{cfg.images:,} images x {copies} host cop{'ies' if copies > 1 else 'y'}",
        copies * cfg.images)], "use fewer --images")
    if device.type == "cuda":
        resources.check_memory("the benchmark", [resources.images_need(
            f"{cfg.images:,} images on {device}", cfg.images)], "use fewer --images", device)


# ----------------------------------------------------------------------------- reference


class PILImages(Dataset):
    """torchvision's CIFAR10 dataset shape: HWC uint8 arrays turned into PIL images per item."""

    def __init__(self, data: datasets.ImageSet) -> None:
        from torchvision import transforms  # only the benchmark needs it: imported late

        self.images = data.images.permute(0, 2, 3, 1).contiguous().numpy()  # [N, 32, 32, 3]
        self.labels = data.labels.tolist()
        self.transform = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize(datasets.MEAN, datasets.STD)]
        )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def reference_point(model, data, dirs, device, workers) -> Callable[[float, float], tuple]:
    """The reference approach as a function of the grid point: (loss, accuracy %)."""
    net = copy.deepcopy(model).to(device).eval()
    params = list(net.parameters())
    theta = [p.detach().cpu().double() for p in params]
    dx = [d.double() for d in dirs.x]
    dy = [d.double() for d in dirs.y]
    loader = DataLoader(PILImages(data), batch_size=REFERENCE_BATCH, shuffle=False,
                        num_workers=workers)
    criterion = nn.CrossEntropyLoss()

    def point(a: float, b: float) -> tuple[float, float]:
        for p, w, x, y in zip(params, theta, dx, dy):
            p.data = (w + a * x + b * y).to(device=device, dtype=torch.float32)
        total_loss, correct, total = 0.0, 0, 0
        with torch.no_grad():
            for inputs, targets in loader:
                inputs, targets = inputs.to(device), targets.to(device)
                outputs = net(inputs)
                total_loss += criterion(outputs, targets).item() * inputs.size(0)
                correct += outputs.max(1)[1].eq(targets).sum().item()
                total += inputs.size(0)
        return total_loss / total, 100.0 * correct / total

    return point


# ------------------------------------------------------------------------------------ ours


def our_point(model, data, dirs, device, cfg) -> tuple[Callable[[float, float], tuple], object]:
    """Our approach as a function of the grid point, and the evaluator behind it."""
    net = copy.deepcopy(model).to(device).eval()
    mover = Mover(align(dirs, net))  # the sweep's own in-place weight update
    evaluator = make_evaluator(net, data.to(device), precision=cfg.precision,
                               batch_size=cfg.batch_size, compile=use_compile(cfg, device))

    def point(a: float, b: float) -> tuple[float, float]:
        mover.move((a, b))
        return evaluator()

    return point, evaluator


def float64_values(model, data, dirs, points, device) -> list[tuple[float, float]]:
    """Ground truth at each point: the float64 evaluation of theta* + a*dx + b*dy."""
    net = copy.deepcopy(model).to(device).double().eval()
    on_device = data.to(device)
    theta = [p.detach().clone() for p in net.parameters()]
    out = []
    for a, b in points:
        with torch.no_grad():
            for p, w, x, y in zip(net.parameters(), theta, dirs.x, dirs.y):
                p.copy_(w + a * x.to(p) + b * y.to(p))
        out.append(policy.evaluate_float64(net, on_device))
    return out


def time_points(approaches: dict[str, Callable], points, device) -> dict[str, dict]:
    """Warm each approach up at the first point, then time them point by point, interleaved.

    Interleaving keeps the ratio fair when other work shares the machine. Returns, per
    approach: values, seconds per point, warm-up seconds and peak memory (MB).
    """
    out = {name: {"values": [], "seconds": [], "peak_mb": 0.0} for name in approaches}
    for name, point in approaches.items():
        started = time.perf_counter()
        point(*points[0])  # worker start, allocator, cuDNN autotuning, compilation
        sync_device(device)
        out[name]["warmup"] = time.perf_counter() - started
    for a, b in points:
        for name, point in approaches.items():
            reset_peak(device)
            started = time.perf_counter()
            out[name]["values"].append(point(a, b))
            sync_device(device)
            out[name]["seconds"].append(time.perf_counter() - started)
            out[name]["peak_mb"] = max(out[name]["peak_mb"], peak_mb(device))
    return out


# -------------------------------------------------------------------------------- training


def train_throughput(model, data, device, steps: int, precision: str, compile: bool) -> float:
    """Images per second of SGD steps at batch 128 on device-resident uint8 data."""
    net = copy.deepcopy(model).to(device).train()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                                weight_decay=5e-4, fused=(compile and device.type == "cuda") or None)
    step = make_train_step(net, optimizer, precision=precision, compile=compile, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    on_device = data.to(device)
    batches = [torch.randint(0, len(on_device), (TRAIN_BATCH,), generator=gen, device=device)
               for _ in range(TRAIN_WARMUP + steps)]
    for i, idx in enumerate(batches):
        if i == TRAIN_WARMUP:
            sync_device(device)
            started = time.perf_counter()
        images = datasets.augment(on_device.images[idx], gen)
        step(images, on_device.labels[idx])
    sync_device(device)
    return steps * TRAIN_BATCH / (time.perf_counter() - started)


# ----------------------------------------------------------------------------------- driver


def run_benchmark(cfg: BenchConfig) -> dict:
    """Run both approaches (and the training measurement) and return the result record;
    ``mode="hessian"``: ``landscape.hessian_bench.run_hessian_benchmark``."""
    cfg.validate()
    if cfg.mode == "hessian":
        from landscape.hessian_bench import run_hessian_benchmark

        return run_hessian_benchmark(cfg)
    device = resolve_device(cfg.device)
    check_sizes(cfg, device)
    model, data = load_inputs(cfg)
    dirs = random_directions(model, axes=2, seed=cfg.seed)
    points = grid_points(cfg.points)

    approaches, setup = {}, {}
    started = time.perf_counter()  # folding, the auto probe, compilation on a CPU
    approaches["ours"], evaluator = our_point(model, data, dirs, device, cfg)
    setup["ours"] = time.perf_counter() - started
    if cfg.reference:
        started = time.perf_counter()
        approaches["reference"] = reference_point(model, data, dirs, device, cfg.workers)
        setup["reference"] = time.perf_counter() - started
    timed = time_points(approaches, points, device)
    truth = float64_values(model, data, dirs, points, device)
    result = {
        "device": device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "model": cfg.model,
        "images": cfg.images,
        "points": len(points),
        "grid_points": points,
        "precision": evaluator.precision,
        "precision_probe_errors": evaluator.choice.errors if evaluator.choice else None,
        "batch_size": evaluator.batch_size,
        "folded_batchnorms": evaluator.folded,
        "compiled": evaluator.compiled,
        "memory_kind": "CUDA max allocated" if device.type == "cuda" else "process peak RSS",
        "float64_values": truth,
        "reference_s_per_point": None,
        "speedup": None,
    }
    for name, t in timed.items():
        median = float(np.median(t["seconds"]))  # robust to bursts of other load
        result.update({
            f"{name}_s_per_point": median,
            f"{name}_s_per_point_min": min(t["seconds"]),
            f"{name}_s_per_point_mean": float(np.mean(t["seconds"])),
            f"{name}_points_per_s": 1.0 / median,
            f"{name}_warmup_s": setup[name] + t["warmup"],  # set-up and the first point
            f"{name}_peak_mem_mb": t["peak_mb"],
            f"{name}_values": t["values"],
            f"{name}_seconds": t["seconds"],
            f"{name}_rel_error": max(policy.relative_error(v[0], f[0])
                                     for v, f in zip(t["values"], truth)),
        })
    result["rel_error"] = result.pop("ours_rel_error")
    if cfg.reference:
        result["speedup"] = result["reference_s_per_point"] / result["ours_s_per_point"]
        result["speedup_min"] = result["reference_s_per_point_min"] / result["ours_s_per_point_min"]
    if cfg.train_steps:
        result.update(training_speed(model, data, device, cfg))
    if cfg.precision_table:
        result["precision_table"] = policy.precision_table(model, data, dirs, device)
    result["config"] = asdict(cfg)
    return result


def training_speed(model, data, device, cfg: BenchConfig) -> dict:
    """Training images/s: the plain step (fp32, eager) and the fast path (auto, compile)."""
    out = {"train_images_per_s_plain": train_throughput(
        model, data, device, cfg.train_steps, "fp32", False)}
    fast = policy.training_precision("auto", device)
    compile = use_compile(cfg, device)
    out.update({"train_batch": TRAIN_BATCH, "train_precision": fast, "train_compiled": compile})
    same = fast == "fp32" and not compile
    out["train_images_per_s"] = out["train_images_per_s_plain"] if same else train_throughput(
        model, data, device, cfg.train_steps, fast, compile)
    return out


def use_compile(cfg: BenchConfig, device: torch.device) -> bool:
    return cfg.compile if cfg.compile is not None else device.type == "cuda"


def sync_device(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes

