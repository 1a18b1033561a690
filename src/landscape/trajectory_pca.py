"""Optimizer paths: PCA directions of a run's checkpoints, and the path projected onto them.

``landscape trajectory --checkpoints runs/vgg9 --out path.h5 --out-directions pca.h5``

Rows are ``w_epoch - w_final`` over the model's parameters, one per checkpoint, with 1-D
tensors (biases, BatchNorm) zeroed as the reference does. The PCA is the reference's (sklearn
``PCA(n_components=2)`` on those rows: columns centred over the checkpoints), computed
without ever holding the matrix: the ``n x n`` Gram matrix ``G = R R^T`` is summed block by
block of columns, read from every checkpoint (positioned reads of just the block's bytes,
located by loading the checkpoint onto the meta device once), then

- the centred Gram ``K = C G C`` (``C = I - 1 1^T / n``) gives the principal values
  ``lambda_k`` and coefficient vectors ``u_k`` (``numpy.linalg.eigh``); the explained-variance
  ratios are ``lambda_k / trace K``;
- a second pass over the blocks gives the unit directions ``v_k = R^T C u_k / sqrt(lambda_k)``;
- the path's coordinates ``R v_k = G C u_k / sqrt(lambda_k)`` need no further pass; the final
  model's row is zero, so it sits at (0, 0).

Memory: one block of ``n`` rows (``block_mb``), the two directions (float32, the model's
size) and ``n x n`` numbers, whatever the number of epochs. ``project`` projects the same
rows onto any two directions (least squares: for orthonormal directions the plain dot
products) in one pass. docs/trajectories.md has the commands, files and measurements.

The module is also the Python API's ``landscape.trajectory(model, checkpoints, data)``:
calling it runs ``landscape.api_trajectory.trajectory`` (a function of that name would be
replaced by this module whenever the module is imported).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from landscape import __version__
from landscape.checkpoint import read_checkpoint
from landscape.configs import PathConfig, ProjectConfig, TrajectoryConfig
from landscape.directions import Directions, align, read_directions, write_directions
from landscape.errors import LandscapeError
from landscape.h5files import sha256_file
from landscape.models import MODELS
from landscape.trajectory_file import Trajectory, covering_grid, write_trajectory

# Training settings that do not change the weights (as for resuming a run): checkpoints that
# differ only in these still belong to one run.
NEUTRAL_SETTINGS = frozenset({"data_dir", "device", "eval_batch_size", "compile"})
PATTERN = "epoch_*.pt"
MB = 1 << 20


@dataclass(frozen=True)
class Stored:
    """Where one tensor lies in a checkpoint file: ``numel`` elements of ``dtype`` from byte
    ``offset`` on (``None``: not known, e.g. torch's legacy format, so the file is loaded)."""

    offset: int | None
    dtype: torch.dtype
    shape: tuple[int, ...]


@dataclass
class Member:
    """One checkpoint of a path: its file, what it records, where its tensors lie."""

    path: Path
    epoch: int
    arch: str | None
    config: dict[str, Any] | None
    tensors: dict[str, Stored]

    def read(self, wanted: Sequence[tuple[str, int, int]]) -> list[torch.Tensor]:
        """For each ``(name, first, stop)``: elements ``first:stop`` of tensor ``name``
        flattened, reading only their bytes (the whole file where they cannot be located)."""
        missing = [name for name, _, _ in wanted if name not in self.tensors]
        if missing:
            raise LandscapeError(f"checkpoint {self.path} has no {missing[0]}")
        if any(self.tensors[name].offset is None for name, _, _ in wanted):
            state = read_checkpoint(self.path)["state_dict"]
            state = {k.removeprefix("module."): v for k, v in state.items()}
            return [state[name].reshape(-1)[first:stop] for name, first, stop in wanted]
        out = []
        with open(self.path, "rb") as fh:
            for name, first, stop in wanted:
                stored = self.tensors[name]
                size = stored.dtype.itemsize
                fh.seek(stored.offset + first * size)
                data = bytearray(fh.read((stop - first) * size))
                if len(data) != (stop - first) * size:
                    raise LandscapeError(f"checkpoint {self.path} is truncated (reading {name})")
                out.append(torch.frombuffer(data, dtype=stored.dtype))
        return out


@dataclass
class Run:
    """The checkpoints of one run, in epoch order, its final model and the model's tensors."""

    members: list[Member]
    final: Member
    arch: str
    names: list[str]  # the tensors rows are made of, in model order
    shapes: list[tuple[int, ...]]

    @property
    def epochs(self) -> np.ndarray:
        return np.array([m.epoch for m in self.members], dtype=np.int64)

    @property
    def lr_decay_epochs(self) -> np.ndarray:
        """The milestones the final checkpoint's training config records (lr decays after them)."""
        milestones = (self.final.config or {}).get("milestones", [])
        return np.array(sorted(int(m) for m in milestones), dtype=np.int64)


# ------------------------------------------------------------------------- the checkpoints


def open_member(path: Path, epoch: int | None = None) -> Member:
    """A checkpoint's metadata and tensor locations, without reading its tensors.

    Loading onto the meta device records where each storage lies in the file
    (``_checkpoint_offset``), so a block of rows reads just its own bytes, with no mapping
    that would keep them resident. A file whose tensors cannot be located is loaded whole
    each time it is read (small legacy checkpoints of the reference). ``epoch``: what a file
    that records none counts as (the Python API: its place in the list); by default its
    name's last number.
    """
    try:
        payload = torch.load(path, map_location="meta", weights_only=True)
    except Exception:
        payload = read_checkpoint(path)
    if isinstance(payload, dict) and "state_dict" not in payload and all(
        isinstance(v, torch.Tensor) for v in payload.values()
    ):
        payload = {"state_dict": payload}
    if not isinstance(payload, dict) or not isinstance(payload.get("state_dict"), dict):
        raise LandscapeError(f"checkpoint {path} has no 'state_dict' entry")
    tensors = {}
    for name, t in payload["state_dict"].items():
        offset = getattr(t.untyped_storage(), "_checkpoint_offset", None)
        if offset is not None and t.is_contiguous():
            offset += t.storage_offset() * t.element_size()
        else:
            offset = None
        tensors[name.removeprefix("module.")] = Stored(offset, t.dtype, tuple(t.shape))
    epoch = payload.get("epoch", epoch)
    if epoch is None:  # a reference checkpoint: model_<epoch>.t7
        match = re.search(r"(\d+)\D*$", path.stem)
        if match is None:
            raise LandscapeError(f"checkpoint {path} records no epoch and its name holds none")
        epoch = int(match[1])
    config = payload.get("config")
    return Member(path, int(epoch), payload.get("arch"),
                  config if isinstance(config, dict) else None, tensors)


def expand(checkpoints: Sequence[str | Path]) -> list[Path]:
    """Files as given; a folder stands for its ``epoch_*.pt``."""
    files: list[Path] = []
    for item in map(Path, checkpoints):
        if item.is_dir():
            found = sorted(item.glob(PATTERN))
            if not found:
                raise LandscapeError(f"no checkpoints: folder {item} holds no {PATTERN} (train "
                                     "with --save-every 1 to keep one per epoch)")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise LandscapeError(f"checkpoint {item} does not exist")
    return list(dict.fromkeys(files))


def gather(checkpoints: Sequence[str | Path], final: str | Path | None = None,
           arch: str | None = None) -> Run:
    """Read and check the path's checkpoints (their metadata only) before any work.

    Refused: no checkpoint, two checkpoints of one epoch, checkpoints of another architecture
    (recorded, or tensors that do not fit it), or of another run (a training setting that
    changes the weights differs from the final model's).
    """
    files = expand(checkpoints)
    if not files:
        raise LandscapeError("no checkpoints given")
    members = sorted((open_member(path) for path in files), key=lambda m: m.epoch)
    for a, b in itertools.pairwise(members):
        if a.epoch == b.epoch:
            raise LandscapeError(f"checkpoints {a.path} and {b.path} both record epoch {a.epoch}: "
                                 "mixed runs? give each epoch once")
    last = members[-1] if final is None else open_member(Path(final))
    name = arch or last.arch or next((m.arch for m in members if m.arch), None)
    if name is None:
        raise LandscapeError(f"checkpoint {last.path} does not record its architecture; pass --arch")
    for m in [*members, last]:
        if m.arch is not None and m.arch != name:
            raise LandscapeError(f"checkpoint {m.path} holds a {m.arch}, not a {name}: "
                                 "every checkpoint of a path must be of one architecture")
        _check_same_run(m, last)
    model = skeleton(name)
    names = [n for n, _ in model.named_parameters()]
    shapes = [tuple(p.shape) for p in model.parameters()]
    for m in [*members, last]:
        check_fit(m, names, shapes, name)
    return Run(members, last, name, names, shapes)


def check_fit(m: Member, names: Sequence[str], shapes: Sequence[tuple[int, ...]],
              model: str) -> None:
    """Refuse a checkpoint that lacks one of the tensors ``names`` or holds it in another
    shape or a non-floating type."""
    bad = [n for n, s in zip(names, shapes)
           if n not in m.tensors or m.tensors[n].shape != s or not m.tensors[n].dtype.is_floating_point]
    if bad:
        problem = "missing" if bad[0] not in m.tensors else "a wrong shape or type for"
        raise LandscapeError(f"checkpoint {m.path} does not fit {model}: {problem} {bad[0]} "
                             "(another architecture?)")


def skeleton(name: str) -> torch.nn.Module:
    """Model ``name`` on the meta device: its tensors' names and shapes, no memory, no init."""
    if name not in MODELS:
        raise LandscapeError(f"unknown model {name!r}; valid: {', '.join(MODELS)}")
    with torch.device("meta"):
        return MODELS[name]()


def _check_same_run(m: Member, final: Member) -> None:
    if m.config is None or final.config is None:
        return
    keys = (set(m.config) | set(final.config)) - NEUTRAL_SETTINGS
    differ = sorted(k for k in keys if m.config.get(k) != final.config.get(k))
    if differ:
        raise LandscapeError(f"checkpoint {m.path} comes from another run than the final model "
                             f"{final.path} ({', '.join(differ)} differ); give one run's "
                             "checkpoints")


# ------------------------------------------------------------------------ rows, in blocks

Piece = tuple[int, int, int]  # (entry index, first, stop) within the flattened entry


def plan_blocks(sizes: Sequence[int], per_block: int) -> list[list[Piece]]:
    """Split the entries' flattened elements into blocks of at most ``per_block`` columns."""
    blocks: list[list[Piece]] = [[]]
    room = per_block
    for index, size in enumerate(sizes):
        first = 0
        while first < size:
            if room == 0:
                blocks.append([])
                room = per_block
            stop = min(size, first + room)
            blocks[-1].append((index, first, stop))
            room -= stop - first
            first = stop
    return [b for b in blocks if b]


class Rows:
    """The rows ``w_epoch - w_final`` over some entries of a run, served in column blocks."""

    def __init__(self, run: Run, entries: Sequence[int], block_mb: float,
                 progress: bool | None = None) -> None:
        self.run = run
        self.entries = list(entries)  # indices into run.names
        sizes = [int(np.prod(run.shapes[i])) for i in self.entries]
        per_block = max(1, int(block_mb * MB) // (8 * (len(run.members) + 1)))
        self.blocks = plan_blocks(sizes, per_block)
        self.progress = progress

    def __iter__(self) -> Iterator[tuple[list[Piece], torch.Tensor]]:
        """``(pieces, R)``: ``R[r]`` is checkpoint r's row over the block's columns (float64).

        ``R`` is one buffer, overwritten by the next block: use it before asking for the next.
        """
        members = self.run.members
        widest = max(sum(stop - first for _, first, stop in pieces) for pieces in self.blocks)
        buffer = torch.empty(len(members) + 1, widest, dtype=torch.float64)
        bar = tqdm(total=len(self.blocks) * (len(members) + 1), unit="file", desc="checkpoints",
                   disable=None if self.progress is None else not self.progress)
        with bar:
            for pieces in self.blocks:
                width = sum(stop - first for _, first, stop in pieces)
                rows, base = buffer[:-1, :width], buffer[-1, :width]
                for row, m in ((base, self.run.final), *zip(rows, members)):
                    self._read(m, pieces, row)
                    bar.update(1)
                rows -= base
                yield pieces, rows

    def _read(self, m: Member, pieces: list[Piece], out: torch.Tensor) -> None:
        at = 0
        for part in m.read([(self.run.names[self.entries[i]], a, b) for i, a, b in pieces]):
            out[at : at + len(part)] = part
            at += len(part)


# ----------------------------------------------------------------------------------- PCA


@dataclass
class PCA:
    directions: Directions  # unit norm, one tensor per parameter (1-D ones zero)
    coordinates: np.ndarray  # (n, 2): each checkpoint's row projected onto them
    explained_variance_ratio: np.ndarray  # (2,)
    explained_variance: np.ndarray  # (2,): lambda / (n - 1), as sklearn's PCA
    singular_values: np.ndarray  # (2,)


def gram_matrix(rows: Rows) -> np.ndarray:
    """``R R^T`` (float64), summed over the column blocks."""
    n = len(rows.run.members)
    gram = torch.zeros(n, n, dtype=torch.float64)
    for _, block in rows:
        gram += block @ block.T
    return gram.numpy()


def pca(run: Run, block_mb: float = 1024.0, progress: bool | None = None) -> PCA:
    """The two leading principal directions of the run's rows (see the module docstring)."""
    n = len(run.members)
    if n < 3:
        raise LandscapeError(f"{n} checkpoint(s) span fewer than two dimensions around their "
                             "mean: a path needs at least 3 checkpoints that differ")
    kept = [i for i, s in enumerate(run.shapes) if len(s) >= 2]  # 1-D tensors: zero columns
    rows = Rows(run, kept, block_mb, progress)
    gram = gram_matrix(rows)
    centre = np.eye(n) - 1.0 / n
    values, vectors = np.linalg.eigh(centre @ gram @ centre)
    values, vectors = np.clip(values[::-1], 0, None), vectors[:, ::-1]
    total = values.sum()
    if values[1] <= 1e-12 * total:
        raise LandscapeError(f"the {n} checkpoints span fewer than two dimensions around their "
                             "mean: a path needs at least 3 checkpoints that differ")
    coeffs = centre @ vectors[:, :2]
    # Sign: each coefficient vector's largest entry positive (sklearn's svd_flip on U).
    coeffs *= np.sign(coeffs[np.abs(coeffs).argmax(axis=0), [0, 1]])
    scale = np.sqrt(values[:2])
    u = torch.from_numpy(coeffs / scale)  # v_k = R^T u[:, k]
    axes = [[torch.zeros(s) for s in run.shapes] for _ in range(2)]
    for pieces, block in rows:
        v = (u.T @ block).float()
        at = 0
        for index, first, stop in pieces:
            for k in range(2):
                axes[k][kept[index]].view(-1)[first:stop] = v[k, at : at + stop - first]
            at += stop - first
    return PCA(
        Directions(axes[0], axes[1], {"dir_type": "weights"}),
        gram @ coeffs / scale,
        values[:2] / total,
        values[:2] / (n - 1),
        scale,
    )


# ----------------------------------------------------------------------------- projection


def project(run: Run, directions: Directions, block_mb: float = 1024.0,
            progress: bool | None = None) -> np.ndarray:
    """(n, 2) least-squares coefficients ``(a, b)`` of each row in ``a dx + b dy``.

    The rows cover every entry the directions hold (parameters, or state entries for a
    ``states`` file; integer counters excepted), so they are the reference's rows; for
    orthonormal directions (PCA) the coefficients are the dot products.
    """
    if directions.ndim != 2:
        raise LandscapeError(f"direction file {directions.source} holds one direction; a path "
                             "needs two (xdirection and ydirection)")
    model = skeleton(run.arch)
    alignment = align(directions, model)
    if alignment.dir_type == "states":
        state = dict(model.state_dict())
        run = Run(run.members, run.final, run.arch, list(state),
                  [tuple(t.shape) for t in state.values()])
    index = {name: i for i, name in enumerate(run.names)}
    entries = [index[name] for name in alignment.names]
    axes = [[d.reshape(-1) for d in axis] for axis in alignment.axes]  # float32, as stored
    dots = np.zeros((len(run.members), 2))
    for pieces, block in Rows(run, entries, block_mb, progress):
        d = torch.stack([torch.cat([axis[i][first:stop] for i, first, stop in pieces])
                         for axis in axes]).double()
        dots += (block @ d.T).numpy()
    metric = np.array([[sum(float(torch.dot(a.double(), b.double())) for a, b in zip(p, q))
                        for q in axes] for p in axes])
    if abs(np.linalg.det(metric)) <= 1e-12 * metric[0, 0] * metric[1, 1]:
        raise LandscapeError(f"the two directions of {directions.source} are parallel (or one is"
                             " zero): they span no plane to project onto")
    return np.linalg.solve(metric, dots.T).T


# ---------------------------------------------------------------------- files, as the CLI


def _trajectory(run: Run, coords: np.ndarray, cfg: PathConfig, attrs: dict[str, Any],
                ratio: np.ndarray | None) -> Trajectory:
    return Trajectory(
        x=coords[:, 0], y=coords[:, 1], epochs=run.epochs, lr_decay_epochs=run.lr_decay_epochs,
        grid=covering_grid(coords[:, 0], coords[:, 1], cfg.margin, cfg.grid_points),
        explained_variance_ratio=ratio,
        checkpoints=[str(m.path) for m in run.members],
        checkpoint_sha256=[sha256_file(m.path) for m in run.members],
        attrs={"arch": run.arch, "final": str(run.final.path),
               "final_sha256": sha256_file(run.final.path), "final_epoch": run.final.epoch,
               "margin": cfg.margin, "grid_points": cfg.grid_points, **attrs},
    )


def _check_outputs(cfg: PathConfig, outputs: Sequence[str | Path],
                   inputs: Sequence[str | Path]) -> None:
    names = [*expand(cfg.checkpoints), *([cfg.final] if cfg.final else []), *inputs]
    resolved = {Path(p).resolve() for p in names}
    for out in outputs:
        if Path(out).resolve() in resolved:
            raise LandscapeError(f"output {out} would overwrite an input")
    if len({Path(o).resolve() for o in outputs}) < len(outputs):
        raise LandscapeError("the output files must differ")


def trajectory_files(cfg: TrajectoryConfig, out: str | Path, out_directions: str | Path,
                     progress: bool | None = None) -> tuple[Path, Path, PCA]:
    """``landscape trajectory``: PCA directions to ``out_directions``, the path to ``out``."""
    cfg.validate()
    _check_outputs(cfg, [out, out_directions], [])
    run = gather(cfg.checkpoints, cfg.final, cfg.arch)
    result = pca(run, cfg.block_mb, progress)
    result.directions.attrs.update({
        "kind": "pca", "axes": 2, "dir_type": "weights", "norm": "none", "ignore": "biasbn",
        "explained_variance_ratio": result.explained_variance_ratio.tolist(),
        "explained_variance": result.explained_variance.tolist(),
        "singular_values": result.singular_values.tolist(),
        "arch": run.arch, "checkpoint": str(run.final.path),
        "checkpoint_sha256": sha256_file(run.final.path), "checkpoints": len(run.members),
        "landscape_version": __version__,
    })
    write_directions(out_directions, result.directions)
    traj = _trajectory(run, result.coordinates, cfg, {
        "kind": "pca", "directions": str(out_directions),
        "directions_sha256": sha256_file(out_directions), "dir_type": "weights",
    }, result.explained_variance_ratio)
    return write_trajectory(out, traj), Path(out_directions), result


def project_file(cfg: ProjectConfig, out: str | Path, progress: bool | None = None
                 ) -> tuple[Path, Trajectory]:
    """``landscape project``: the path on ``cfg.directions``, written to ``out``."""
    cfg.validate()
    _check_outputs(cfg, [out], [cfg.directions])
    directions = read_directions(cfg.directions)
    run = gather(cfg.checkpoints, cfg.final, cfg.arch)
    coords = project(run, directions, cfg.block_mb, progress)
    ratio = directions.attrs.get("explained_variance_ratio")
    traj = _trajectory(run, coords, cfg, {
        "kind": "projection", "directions": str(cfg.directions),
        "directions_sha256": sha256_file(cfg.directions),
        "dir_type": directions.attrs.get("dir_type"), "projection": "least squares",
    }, None if ratio is None else np.asarray(ratio, dtype=np.float64))
    return write_trajectory(out, traj), traj
