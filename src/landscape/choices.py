"""The names the library and the CLI accept, free of heavy imports.

Kept apart so that building the command-line parser imports no torch: ``landscape plot``,
``merge`` and ``table`` (a dozen jobs of every workflow run) start in a fraction of the time.
The modules that implement each choice import their lists from here.
"""

DATASETS = ("cifar10", "synthetic", "digits")
SPLITS = ("train", "test")
SUBSET_RULES = ("first", "random")
PRECISIONS = ("auto", "fp32", "tf32", "bf16")
DIR_TYPES = ("weights", "states")
NORMS = ("filter", "layer", "weight", "none")
IGNORES = ("biasbn", "none")
BN_MODES = ("eval", "recompute")  # BatchNorm at each point: origin's statistics, re-estimated
MODEL_NAMES = (
    "resnet20", "resnet56", "resnet110",
    "resnet20_noshort", "resnet56_noshort", "resnet110_noshort",
    "wrn56_2", "wrn56_4", "wrn56_8",
    "wrn56_2_noshort", "wrn56_4_noshort", "wrn56_8_noshort",
    "vgg9", "densenet121",
)

# Where each data set lives under the data folder, in CIFAR-10's own batch layout.
DATA_FOLDERS = {"cifar10": "cifar-10-batches-py", "synthetic": "synthetic-batches-py",
                "digits": "digits-batches-py"}
TRAIN_FILES = tuple(f"data_batch_{k}" for k in range(1, 6))
TEST_FILES = ("test_batch",)

# Figure kinds: 1-D curves, and the 2-D kinds of a surface; figure file formats.
KINDS_1D = ("1d",)
KINDS_2D = ("contour", "contourf", "heatmap", "surface3d")
FIGURE_FORMATS = ("pdf", "png", "svg")
