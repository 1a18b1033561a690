"""The paper's CIFAR-10 test errors (Li et al. 2018; REFERENCE.md section 6), by model name.

Keys are this package's model names (``landscape.models``) trained with the paper's recipe.
A few runs of the paper differ from that recipe only in one setting; they have keys of
their own, named after the setting, so a run trained that way can be compared:

- ``resnet56_noshort_lr0.01``: initial learning rate 0.01 instead of 0.1;
- the batch-size study's runs (paper Figs. 2, 3), named as the workflow names them,
  ``<model>_bs<batch size>_wd<weight decay>``: ``vgg9_bs128_wd0.0005`` (the recipe, also
  plain ``vgg9``), ``vgg9_bs8192_wd0.0005``, ``vgg9_bs128_wd0``, ``vgg9_bs8192_wd0``.
"""

from __future__ import annotations

PAPER_TEST_ERROR: dict[str, float] = {
    "resnet20": 7.37,
    "resnet56": 5.89,
    "resnet110": 5.79,
    "resnet20_noshort": 8.18,
    "resnet56_noshort": 13.31,
    "resnet56_noshort_lr0.01": 10.83,
    "resnet110_noshort": 16.44,
    "wrn56_2": 5.07,
    "wrn56_4": 4.34,
    "wrn56_8": 3.93,
    "wrn56_2_noshort": 10.26,
    "wrn56_4_noshort": 9.69,
    "wrn56_8_noshort": 8.70,
    "vgg9": 6.00,
    "vgg9_bs128_wd0.0005": 6.00,
    "vgg9_bs8192_wd0.0005": 10.19,
    "vgg9_bs128_wd0": 7.37,
    "vgg9_bs8192_wd0": 11.07,
}


def paper_test_error(model: str) -> float | None:
    """The paper's test error (%) for ``model``, or None when the paper reports none."""
    return PAPER_TEST_ERROR.get(model)
