"""Loss-landscape visualization of neural nets (Li et al., NeurIPS 2018), reproducibly.

For your own model and data::

    import landscape
    surface = landscape.loss_surface(model, (X, y))           # 21 x 21 points on [-1, 1]^2
    landscape.plot(surface, kind="contour", out="contour.png")
    path = landscape.trajectory(model, checkpoints, (X, y))   # PCA path of a run (Fig. 9)
    hess = landscape.curvature(model, (X, y))                 # Hessian eigenvalue maps (Fig. 7)

(docs/own_model.md).

The library knows nothing of Snakemake: ``landscape.data`` loads CIFAR-10, the offline
synthetic set or scikit-learn's digits as uint8 tensors, ``landscape.models`` builds the paper's networks,
``landscape.train`` trains them, and later stages turn checkpoints into directions, surfaces
and figures. Every stage is also a ``landscape`` subcommand.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("landscape")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0+unknown"

from landscape.errors import LandscapeError

# The Python API, imported on first use: `import landscape` (and the CLI) stays torch-free.
_LAZY = {
    "loss_surface": "landscape.api",
    "interpolate": "landscape.api",
    "plot": "landscape.api",
    "trajectory": "landscape.api_trajectory",
    "curvature": "landscape.api_curvature",
    "Surface": "landscape.surface_file",
    "read_surface": "landscape.surface_file",
    "Directions": "landscape.directions",
    "random_directions": "landscape.directions",
}

__all__ = ["LandscapeError", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        return getattr(module, name)
    raise AttributeError(f"module 'landscape' has no attribute {name!r}")
