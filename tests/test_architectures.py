"""Every architecture the paper's config names goes through every stage of the workflow, at toy
scale: trained one step, directions, a surface and a curve, a Hessian point, the figures
(contour, 1-D curve, Fig. 7) and the .vtp export, each by its ``landscape`` command as the
workflow's rules run it. A model that never went through the workflow (DenseNet-121 and the
Wide-ResNets are too slow for the smoke preset) is caught here, not at the end of a GPU run.

The list is read from config.yaml (``models`` and the batch-size study's model), so an
architecture added there is tested without touching this file.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from matplotlib.image import imread
from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

from landscape.cli import main
from landscape.settings import command_line
from landscape.surface_file import read_surface
from landscape.tables import read_metrics

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


PAPER = yaml.safe_load(CONFIG.read_text())


def config_architectures() -> list[str]:
    """Each architecture config.yaml trains, once, in its order."""
    return list(dict.fromkeys([*PAPER["models"], PAPER["batch_size_study"]["model"]]))


# One training step on 2 images, 2 images per point: the least BatchNorm trains on, and the
# Wide-ResNet-56-8's forward pass costs ~7 GFLOP per image on a CPU.
IMAGES = 2
DATA = ["--dataset", "synthetic", "--device", "cpu"]


def run(*argv) -> None:
    """One ``landscape`` command, in-process; it must succeed."""
    argv = [str(a) for a in argv]
    assert main(argv) == 0, argv


def test_config_names_the_paper_architectures():
    names = config_architectures()
    assert {"densenet121", "wrn56_8_noshort", "resnet110", "vgg9"} <= set(names), names


@pytest.mark.slow
@pytest.mark.parametrize("arch", config_architectures())
def test_architecture_goes_through_every_stage(arch, data_dir, tmp_path, one_thread, capsys):
    data = [*DATA, "--data-dir", data_dir]
    train = tmp_path / "train"
    override = command_line(PAPER["train_overrides"].get(arch, {}))  # resnet110_noshort: lr 0.01
    run("train", "--model", arch, *data, "--epochs", 1, "--batch-size", IMAGES,
        "--train-size", IMAGES, "--test-size", IMAGES, "--eval-batch-size", IMAGES,
        "--milestones", "--save-every", 1, "--no-compile", "--no-progress", *override,
        "--out", train)
    checkpoint = train / "final.pt"
    directions = tmp_path / "directions.h5"
    run("directions", "--checkpoint", checkpoint, "--out", directions)
    sweep = ["--checkpoint", checkpoint, "--directions", directions, *data, "--subset", IMAGES,
             "--no-progress"]
    surface, curve, hessian = tmp_path / "surface.h5", tmp_path / "curve.h5", tmp_path / "h.h5"
    run("surface", *sweep, "--x=-1:1:2", "--y=-1:1:2", "--batch-size", IMAGES, "--no-compile",
        "--out", surface)
    run("surface", *sweep, "--x=-1:1:2", "--splits", "train", "test", "--batch-size", IMAGES,
        "--no-compile", "--precision", "fp32", "--out", curve)  # the probe ran once above
    run("hessian", *sweep, "--x=0:0:1", "--y=0:0:1", "--max-iter", 2, "--tol", 0.5,
        "--out", hessian)
    # One step can leave a deep plain net diverged at toy scale (resnet110_noshort: its
    # gradient norm at initialization is ~1e6 on 2 images); the surface must then agree with
    # what training measured, and every later stage still writes valid files, with warnings.
    diverged = not np.isfinite(read_metrics(train / "metrics.csv")["test_loss"].iloc[-1])
    for path, names in ((surface, ["train_loss"]), (curve, ["train_loss", "test_loss"]),
                        (hessian, ["train_loss"])):
        s = read_surface(path)
        assert s.model() == arch
        for name in names:
            assert diverged or np.isfinite(s.get(name)).all(), (path.name, name, s.get(name))
    # At most two Lanczos products (fewer on a diverged net): the ends are computed, NaN where
    # they did not converge, with a warning.
    assert 1 <= read_surface(hessian).get("hvp_count").item() <= 2
    assert read_surface(hessian).get("max_eig").shape == (1, 1)
    with h5py.File(curve) as f:
        assert f["train_loss"].shape == (2,)

    figures = tmp_path / "figures"
    run("plot", "--surface", surface, "--kinds", "contour", "surface3d", "--formats", "png",
        "--dpi", 30, "--out-prefix", figures / arch)
    run("plot", "--surface", curve, "--kinds", "1d", "--formats", "png", "--dpi", 30,
        "--out-prefix", figures / arch)
    run("curvature", "--surfaces", hessian, "--models", arch, "--formats", "png", "--dpi", 30,
        "--out-prefix", figures / f"{arch}_curvature")
    for kind in ("contour", "surface3d", "1d", "curvature"):
        name = f"{arch}_{kind}.png" if kind != "curvature" else f"{arch}_curvature.png"
        assert imread(figures / name).ndim == 3
    vtp = tmp_path / f"{arch}.vtp"
    run("vtp", "--surface", surface, "--out", vtp)
    reader = vtkXMLPolyDataReader()
    reader.SetFileName(str(vtp))
    reader.Update()
    assert reader.GetErrorCode() == 0
    assert reader.GetOutput().GetNumberOfPolys() == (0 if diverged else 2)
    err = capsys.readouterr().err
    assert " error: " not in err
    if diverged:
        assert "landscape vtp: warning:" in err and "writing an empty mesh" in err
