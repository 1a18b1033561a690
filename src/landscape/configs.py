"""Every stage's settings: one dataclass per stage, one field per option.

The fields are the single source of each setting: ``landscape <stage> --help`` lists them
(help text and default from the field), the workflow passes its config sections through
``landscape.settings.command_line`` by the same names, and ``validate()`` refuses a bad value
before any work. Adding a training setting is one field here, one line in ``config.yaml`` and
one entry in the workflow's schema.

Torch-free (the CLI builds its parser from these classes on every start).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import MISSING, dataclass
from typing import Any

from landscape.choices import (
    BN_MODES, DATASETS, DIR_TYPES, IGNORES, MODEL_NAMES, NORMS, PRECISIONS, SPLITS, SUBSET_RULES,
)
from landscape.errors import LandscapeError
from landscape.grid import Grid, Shard, parse_shard
from landscape.settings import check_settings, setting, spec_of

MODEL_HELP = f"one of: {', '.join(MODEL_NAMES)}"
DATA = "data"


def _dataset(default: str = "cifar10") -> Any:
    return setting(default, "cifar10 (downloaded once), the offline synthetic set, or "
                   "digits (scikit-learn's handwritten digits, converted once, offline)",
                   choices=DATASETS, group=DATA)


def _data_dir() -> Any:
    return setting("data", "folder holding the data sets, shared by all runs", group=DATA)


def _device() -> Any:
    return setting("auto", "auto (CUDA when present, else CPU), cpu, cuda or cuda:N")


def _arch() -> Any:
    return setting(None, "architecture, when the checkpoint does not record it (reference "
                   "checkpoints)", choices=MODEL_NAMES, metavar="MODEL", none="from the checkpoint")


# ----------------------------------------------------------------------------------- data


@dataclass(kw_only=True)
class DataConfig:
    """Which data set to make ready, and where."""

    dataset: str = _dataset()
    data_dir: str = _data_dir()
    download: bool = setting(True, "download CIFAR-10 when it is missing (off: only use an "
                             "archive put into --data-dir by hand)", group=DATA)

    def validate(self) -> None:
        check_settings(self)


# ------------------------------------------------------------------------------- training

RECIPE = "recipe (defaults: the paper's)"
SUBSETS = "subsets and checkpoints"
SPEED = "speed (same recipe; see docs/speed.md)"


@dataclass(kw_only=True)
class TrainConfig:
    """Every knob of a training run; defaults are the paper's recipe (REFERENCE.md 5)."""

    model: str = setting(help=MODEL_HELP, choices=MODEL_NAMES, metavar="MODEL")
    dataset: str = _dataset()
    data_dir: str = _data_dir()
    epochs: int = setting(300, "number of training epochs", minimum=1, group=RECIPE)
    batch_size: int = setting(128, "SGD minibatch size", minimum=1, group=RECIPE)
    lr: float = setting(0.1, "initial learning rate", minimum=0, above=True, group=RECIPE)
    momentum: float = setting(0.9, "SGD momentum", minimum=0, group=RECIPE)
    nesterov: bool = setting(True, "Nesterov momentum", group=RECIPE)
    weight_decay: float = setting(5e-4, "L2 weight decay", minimum=0, group=RECIPE)
    milestones: tuple[int, ...] = setting(
        (150, 225, 275), "epochs after which the lr is multiplied by --gamma (increasing, at "
        "most --epochs)", minimum=1, group=RECIPE, metavar="EPOCH")
    gamma: float = setting(0.1, "learning-rate decay factor at each milestone", minimum=0,
                           above=True, group=RECIPE)
    augment: bool = setting(True, "random crop (4-pixel zero padding) and horizontal flip",
                            group=RECIPE)
    train_size: int | None = setting(None, "train on N images of the training split",
                                     minimum=1, group=SUBSETS, none="all")
    test_size: int | None = setting(None, "evaluate each epoch on N images of the test split",
                                    minimum=1, group=SUBSETS, none="all")
    subset_rule: str = setting("first", "first N images, or N drawn with --seed",
                               choices=SUBSET_RULES, group=SUBSETS)
    save_every: int = setting(10, "keep a checkpoint every N epochs, besides 0, 1, the "
                              "milestones and the last", minimum=1, group=SUBSETS)
    seed: int = setting(0, "seeds initialization, shuffling, augmentation and random subsets",
                        minimum=0)
    device: str = _device()
    eval_batch_size: int = setting(1024, "images per forward pass of the per-epoch test "
                                   "evaluation (the numbers do not depend on it)", minimum=1)
    precision: str = setting("auto", "training arithmetic; auto: TF32 on CUDA, float32 on a "
                             "CPU (bit-reproducible there)", choices=PRECISIONS, group=SPEED)
    compile: bool = setting(False, "torch.compile the model; on CUDA replay each step as CUDA "
                            "graphs (same recipe, other rounding)", group=SPEED)

    def validate(self) -> None:
        """Refuse impossible settings before any work, naming the setting."""
        check_settings(self)
        if self.nesterov and self.momentum == 0:
            raise LandscapeError("nesterov momentum needs momentum > 0")
        milestones = list(self.milestones)
        if milestones != sorted(set(milestones)):
            raise LandscapeError(
                f"milestones must be strictly increasing epochs, got {milestones}"
            )
        late = [m for m in milestones if m > self.epochs]
        if late:
            raise LandscapeError(
                f"milestones {late} come after the last epoch ({self.epochs}): the lr would "
                "never decay there; pass milestones within epochs"
            )

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["milestones"] = list(self.milestones)
        return out


# ----------------------------------------------------------------------------- directions


@dataclass(kw_only=True)
class DirectionsConfig:
    """Random directions for a checkpoint's model, or the target direction to a second one."""

    checkpoint: str = setting(help="checkpoint of the model (the origin)")
    arch: str | None = _arch()
    target: str | None = setting(
        None, "second checkpoint: write the 1-D direction theta_target - theta, unnormalized "
        "(the paper's linear interpolation, Fig. 2)", none="random directions")
    axes: int | None = setting(None, "number of random directions", choices=(1, 2),
                               none="2; 1 with --target")
    dir_type: str | None = setting(
        None, "weights: parameters only; states: every state_dict entry, BatchNorm running "
        "statistics included (what interpolating between two solutions needs)",
        choices=DIR_TYPES, none="weights; states with --target")
    norm: str | None = setting(None, "normalization of random directions", choices=NORMS,
                               none="filter, the paper's")
    ignore: str | None = setting(
        None, "biasbn: biases and BatchNorm get a zero direction; none: they move along their "
        "own weights, as in the reference", choices=IGNORES, none="biasbn")
    seed: int | None = setting(None, "seed of the random directions", minimum=0, none="0")

    def validate(self) -> None:
        check_settings(self)
        if self.target is None:
            return
        given = [f"--{name}" for name in ("norm", "ignore", "seed") if getattr(self, name) is not None]
        if self.axes == 2:
            given.insert(0, "--axes 2")
        if given:
            raise LandscapeError(
                f"{', '.join(given)} do not apply with --target (a target direction is one "
                "fixed, unnormalized axis)"
            )

    def resolved(self) -> DirectionsConfig:
        """A copy with every ``None`` replaced by what it means for this kind of direction."""
        target = self.target is not None
        return dataclasses.replace(
            self,
            axes=self.axes or (1 if target else 2),
            dir_type=self.dir_type or ("states" if target else "weights"),
            norm=self.norm or "filter",
            ignore=self.ignore or "biasbn",
            seed=0 if self.seed is None else self.seed,
        )


# ---------------------------------------------------------------------------- trajectories

COVERING = "covering grid (what `landscape surface --grid-from` sweeps)"


@dataclass(kw_only=True)
class PathConfig:
    """An optimizer path: a run's per-epoch checkpoints, its final model, how they are read."""

    checkpoints: tuple[str, ...] = setting(
        help="the run's per-epoch checkpoints (epoch_NNN.pt of `landscape train --save-every "
        "1`), or its training folder: every epoch_*.pt in it", nargs="+", metavar="CKPT")
    final: str | None = setting(None, "the final model, the origin: it projects to (0, 0)",
                                metavar="CKPT", none="the checkpoint of the last epoch")
    arch: str | None = _arch()
    margin: float = setting(0.2, "the covering grid reaches this fraction of the path's extent"
                            " beyond it on every side", minimum=0, group=COVERING)
    grid_points: int = setting(51, "points per axis of the covering grid", minimum=2,
                               group=COVERING)
    block_mb: float = setting(
        1024.0, "memory for the rows read at once (checkpoints x weights x 8 bytes); a smaller "
        "block means more, smaller reads of the files, never other numbers", minimum=0,
        above=True)

    def validate(self) -> None:
        check_settings(self)
        if not self.checkpoints:
            raise LandscapeError("checkpoints: give at least one checkpoint or training folder")


@dataclass(kw_only=True)
class TrajectoryConfig(PathConfig):
    """PCA directions of the path (``landscape trajectory``)."""


@dataclass(kw_only=True)
class ProjectConfig(PathConfig):
    """The path projected onto given directions (``landscape project``)."""

    directions: str = setting(help="direction file with two directions (e.g. random, "
                              "filter-normalized: paper Fig. 8)")


# ------------------------------------------------------------------------ sweeps of points

EVALUATION = "evaluation (how each point is evaluated)"


@dataclass(kw_only=True)
class EvalSettings:
    """How each point of a sweep is evaluated: which data, which device, which arithmetic."""

    dataset: str = _dataset()
    data_dir: str = _data_dir()
    splits: tuple[str, ...] = setting(("train",), "splits evaluated at every point",
                                      choices=SPLITS, group=EVALUATION, nargs="+")
    subset: int | None = setting(None, "evaluate on N images of each split", minimum=1,
                                 group=EVALUATION, none="all")
    subset_rule: str = setting("first", "first N images, or N drawn with --subset-seed",
                               choices=SUBSET_RULES, group=EVALUATION)
    subset_seed: int = setting(0, "seed of the random subset (with --subset-rule random)",
                               minimum=0, group=EVALUATION)
    batch_size: int | None = setting(
        None, "images per forward pass; results agree up to float rounding", minimum=1,
        group=EVALUATION, none="chosen by the engine: from free memory on CUDA, shrinking on "
        "out-of-memory")
    precision: str = setting(
        "auto", "fp32, tf32 (CUDA), bf16, or auto: the fastest mode whose error against "
        "float64 stays under 1e-3 relative on this device", choices=PRECISIONS, group=EVALUATION)
    compile: bool = setting(False, "torch.compile the evaluation (worth it on CUDA for long "
                            "sweeps)", group=EVALUATION)
    device: str = _device()

    def validate_evaluation(self) -> None:
        check_settings(self)
        if len(set(self.splits)) != len(self.splits) or not self.splits:
            raise LandscapeError(f"splits must be distinct names from {', '.join(SPLITS)}")


@dataclass(kw_only=True)
class SurfaceConfig(EvalSettings):
    """A surface sweep from files: what ``landscape surface`` runs."""

    checkpoint: str = setting(help="checkpoint of the model (the origin)")
    directions: str = setting(help="direction file (ours or the reference's)")
    arch: str | None = _arch()
    x: str | None = setting(None, "x grid as MIN:MAX:NUM, e.g. -1:1:51", metavar="MIN:MAX:NUM",
                            none="the grid of --grid-from")
    y: str | None = setting(None, "y grid as MIN:MAX:NUM, for a 2-D surface (needs a "
                            "ydirection)", metavar="MIN:MAX:NUM", none="a 1-D curve along x")
    grid_from: str | None = setting(
        None, "trajectory file (`landscape trajectory` or `project`): sweep the 2-D grid it "
        "stores, which covers the projected path with a margin, instead of --x/--y",
        metavar="PATH.h5", none="--x and --y")
    shard: str = setting("0/1", "compute only the points k (row-major over (j, i)) with "
                         "k %% N == I, 0-based; combine the N files with `landscape merge`",
                         metavar="I/N")
    allow_other_checkpoint: bool = setting(
        False, "sweep a checkpoint other than the one the directions were drawn for (their "
        "filter normalization is relative to that one's weights); said in a warning and "
        "recorded in the surface (other_checkpoint)")
    bn: str = setting(
        "eval", "BatchNorm at each point: eval uses the origin's running statistics (the "
        "paper's); recompute re-estimates them on the first split at every point (a "
        "train-mode pass, cumulative average) before the eval-mode loss",
        choices=BN_MODES, group=EVALUATION)

    def validate(self) -> tuple[Grid, Shard]:
        """Check every setting before any work; returns the parsed grid and shard."""
        self.validate_evaluation()
        if (self.x is None) == (self.grid_from is None):
            raise LandscapeError("give exactly one of --x (with --y for 2-D) and --grid-from")
        if self.grid_from is not None:
            if self.y is not None:
                raise LandscapeError("--y does not apply with --grid-from (the file's grid is 2-D)")
            from landscape.trajectory_file import read_grid  # h5py: only when needed

            return read_grid(self.grid_from), parse_shard(self.shard)
        return Grid.parse(self.x, self.y), parse_shard(self.shard)


# -------------------------------------------------------------------- Hessian eigenvalues

EIGEN = "eigenvalues (see docs/curvature.md)"
HESSIAN_PARAMS = ("matrices", "all")
HESSIAN_PRECISIONS = ("fp32", "tf32")


def _like(cls: type, name: str, *, required: bool = False, **changes: Any) -> Any:
    """A new field with the default and spec of ``cls``'s field ``name`` (``changes`` applied
    to the spec; ``required``: no default): one definition of a setting two stages share."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    extra = {} if field.default is MISSING or required else {"default": field.default}
    spec = dataclasses.replace(spec_of(field), **changes)
    return dataclasses.field(metadata={"spec": spec}, **extra)


@dataclass(kw_only=True)
class EigenSettings:
    """How the extreme Hessian eigenvalues at one point are found (``landscape.hessian``)."""

    params: str = setting(
        "matrices", "parameters the Hessian is taken over: matrices (those with 2 or more "
        "dimensions: conv filters, Linear weights; the reference's choice) or all (biases and "
        "BatchNorm too)", choices=HESSIAN_PARAMS, group=EIGEN)
    tol: float = setting(1e-2, "relative accuracy, in (0, 1): each end is reported once it is "
                         "within tol x the spectral radius of the true extreme with 99.9 "
                         "percent confidence (docs/curvature.md)", minimum=0, above=True, maximum=1,
                         below=True, group=EIGEN)
    max_iter: int = setting(100, "most Lanczos iterations (Hessian-vector products) per point; "
                            "an end not converged by then is stored as NaN, with a warning",
                            minimum=2, group=EIGEN)
    batch_size: int | None = setting(
        None, "images per Hessian-vector product batch; results agree up to float rounding",
        minimum=1, group=EIGEN, none="128 on a CPU, 1024 on CUDA")
    precision: str = setting("fp32", "arithmetic of the products: fp32 (IEEE, also on CUDA) or "
                             "tf32 (CUDA convolutions and matrix products; fp32 on a CPU)",
                             choices=HESSIAN_PRECISIONS, group=EIGEN)
    seed: int = setting(0, "seed of the Lanczos start vector (the same at every point)",
                        minimum=0, group=EIGEN)

    def validate_eigen(self) -> None:
        check_settings(self)


@dataclass(kw_only=True)
class HessianConfig(EigenSettings):
    """A Hessian sweep from files: what ``landscape hessian`` runs (paper Fig. 7)."""

    checkpoint: str = _like(SurfaceConfig, "checkpoint")
    directions: str = _like(SurfaceConfig, "directions")
    arch: str | None = _arch()
    x: str = _like(SurfaceConfig, "x", required=True, none=None)
    y: str | None = _like(SurfaceConfig, "y")
    shard: str = _like(SurfaceConfig, "shard")
    dataset: str = _dataset()
    data_dir: str = _data_dir()
    split: str = setting("train", "split whose mean loss the Hessian is of", choices=SPLITS,
                         group=DATA)
    subset: int | None = _like(EvalSettings, "subset", help="use N images of the split (the "
                               "cost per point is many passes over them)", group=DATA)
    subset_rule: str = _like(EvalSettings, "subset_rule", group=DATA)
    subset_seed: int = _like(EvalSettings, "subset_seed", group=DATA)
    device: str = _device()
    allow_other_checkpoint: bool = _like(SurfaceConfig, "allow_other_checkpoint")

    def validate(self) -> tuple[Grid, Shard]:
        """Check every setting before any work; returns the parsed grid and shard."""
        self.validate_eigen()
        return Grid.parse(self.x, self.y), parse_shard(self.shard)


# ------------------------------------------------------------------------------ 3-D export

VTP_ENCODINGS = ("ascii", "base64")


@dataclass(kw_only=True)
class VtpConfig:
    """A surface as a ParaView/VTK ``.vtp`` file: what ``landscape vtp`` writes."""

    surf_name: str = setting("train_loss", "dataset used as the height and point data: "
                             "train_loss, test_loss, ..., eig_ratio or any other of the file")
    log: bool = setting(False, "heights are log10 of the value (non-positive values are left "
                        "out); the point data keeps the value itself")
    zmax: float | None = setting(None, "cut the surface at this value (in the quantity's units)"
                                 ": what lies above is removed, the cut edge lies exactly at "
                                 "zmax", none="no cut")
    encoding: str = setting("ascii", "data arrays as ASCII text or base64-encoded binary "
                            "(both inline, so any XML parser reads the file)",
                            choices=VTP_ENCODINGS)

    def validate(self) -> None:
        check_settings(self)
        if self.zmax is not None and not math.isfinite(self.zmax):
            raise LandscapeError(f"zmax must be a finite number, got {self.zmax}")
        if self.log and self.zmax is not None and self.zmax <= 0:
            raise LandscapeError(f"log needs a positive zmax, got {self.zmax}")


@dataclass(kw_only=True)
class Html3dConfig:
    """A surface as an interactive 3-D HTML page: what ``landscape html3d`` writes."""

    surf_name: str = _like(VtpConfig, "surf_name", help="dataset drawn as the height: "
                           "train_loss, test_loss, ..., eig_ratio or any other of the file")
    log: bool = setting(False, "heights are log10 of the value (non-positive values are left "
                        "out)")
    zmax: float | None = setting(None, "leave out the values above this one (in the "
                                 "quantity's units)", none="all values")

    def validate(self) -> None:
        check_settings(self)
        if self.zmax is not None and not math.isfinite(self.zmax):
            raise LandscapeError(f"zmax must be a finite number, got {self.zmax}")


# ------------------------------------------------------------------------------- benchmark

BENCH_DATA = ("random", "synthetic")
BENCH_MODES = ("sweep", "hessian")
BENCH_HESSIAN = "hessian mode (--mode hessian)"


@dataclass(kw_only=True)
class BenchConfig:
    """What ``landscape bench`` measures: the model, the size, and how ours runs."""

    model: str = setting(help=MODEL_HELP, choices=MODEL_NAMES, metavar="MODEL")
    mode: str = setting("sweep", "what to time per grid point: sweep (loss and accuracy) or "
                        "hessian (the largest and smallest Hessian eigenvalue; ours: Lanczos "
                        "on batched double-backward products, reference: scipy eigsh on "
                        "DataLoader products)",
                        choices=BENCH_MODES)
    images: int = setting(512, "images per pass", minimum=1)
    points: int = setting(4, "timed grid points, spread over the 51 x 51 grid", minimum=1)
    precision: str = setting("auto", "our sweep's precision", choices=PRECISIONS)
    batch_size: int | None = setting(None, "our sweep's batch", minimum=1,
                                     none="64 on a CPU, from free memory on CUDA")
    compile: bool | None = setting(
        None, "torch.compile our sweep and fast training step (mode sweep only); the warm-up "
        "point pays for the compilation", none="on CUDA only")
    device: str = _device()
    data: str = setting("random", "random uint8 images, or the first N synthetic training "
                        "images", choices=BENCH_DATA)
    data_dir: str = setting("data", "where the synthetic set lives")
    checkpoint: str | None = setting(None, "trained weights of --model",
                                     none="a freshly initialized model")
    train_steps: int = setting(10, "timed SGD steps at batch 128; 0 skips training", minimum=0)
    workers: int = setting(2, "the reference's DataLoader workers (2, as the reference)",
                           minimum=0)
    reference: bool = setting(True, "also time the reference approach")
    precision_table: bool = setting(False, "also measure each precision's error against "
                                    "float64 at the centre and the four corners of the grid")
    seed: int = setting(0, "seeds the model, directions and random images", minimum=0)
    tol: float = _like(EigenSettings, "tol", group=BENCH_HESSIAN)
    max_iter: int = _like(EigenSettings, "max_iter", group=BENCH_HESSIAN)
    tight: float | None = setting(
        None, "also compare both approaches' eigenvalues with ARPACK (eigsh k=2, which=BE) run "
        "to this tol at each point, untimed (a hundred or more products per point)", minimum=0,
        above=True, group=BENCH_HESSIAN, none="no comparison")

    def validate(self) -> None:
        check_settings(self)
        if self.mode == "hessian" and self.compile:
            raise LandscapeError("compile: --mode hessian has nothing to compile (double "
                                 "backward does not run under torch.compile); leave it out")


# --------------------------------------------------------------------------------- claims


@dataclass(kw_only=True)
class ClaimsConfig:
    """The measures that test the paper's claims (docs/claims.md): fixed before any run is
    seen, the same for every model."""

    radius: float = setting(0.5, "sharpness: mean loss rise over the 2-D grid points within "
                            "this filter-normalized distance of the centre", minimum=0,
                            above=True)
    delta: float = setting(1.0, "1-D width: the loss rise above the centre's loss that ends "
                           "the minimum on each side", minimum=0, above=True)
    ratio_threshold: float = setting(0.1, "non-convexity: a Hessian-map point with "
                                     "|lambda_min / lambda_max| above this counts as "
                                     "non-convex", minimum=0)
    pca_share_min: float = setting(0.5, "trajectories: the share of the path's variance the "
                                   "first two PCA components must explain", minimum=0,
                                   maximum=1)
    random_share_max: float = setting(0.05, "trajectories: the largest share of the path's "
                                      "variance two random directions may capture", minimum=0,
                                      maximum=1)

    def validate(self) -> None:
        check_settings(self)
