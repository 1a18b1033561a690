"""Loss-landscape visualization of neural nets (Li et al., NeurIPS 2018), reproducibly.

The library knows nothing of Snakemake: ``landscape.data`` loads CIFAR-10 or the offline
synthetic set as uint8 tensors, ``landscape.models`` builds the paper's networks,
``landscape.train`` trains them, and later stages turn checkpoints into directions, surfaces
and figures. Every stage is also a ``landscape`` subcommand.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("landscape")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0+unknown"

from landscape.errors import LandscapeError

__all__ = ["LandscapeError", "__version__"]
