"""The reference architectures: parameter counts, state-dict names, initialization, loading.

``data/reference_state_dicts.json`` holds, per model name, the reference implementation's
parameter count and the ordered ``[key, shape]`` list of its ``state_dict()``. It was read off
the reference models themselves: the files ``cifar10/models/{resnet,vgg,densenet}.py`` of
tomgoldstein/loss-landscape (commit 64ef4d5, copied to a folder outside this repository),
instantiated with torch 2.14.1 (CPU) through the functions its ``cifar10/model_loader.py``
maps our names to (``ResNet20``, ..., ``WRN56_8_noshort``, ``VGG9``, ``DenseNet121``); for
each, ``sum(p.numel() for p in net.parameters())`` and ``[[k, list(v.shape)] for k, v in
net.state_dict().items()]``, written with ``json.dumps`` one model per line. Modern torch adds
``num_batches_tracked`` buffers, which the authors' torch 0.4 checkpoints lack (loading
tolerates that; see ``test_reference_style_checkpoint_loads``). Neither the reference code nor
that script is part of this repository.
"""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from landscape.checkpoint import load_model, save_checkpoint
from landscape.choices import MODEL_NAMES
from landscape.errors import LandscapeError
from landscape.models import get_model, model_names, num_parameters

REFERENCE_STATE_DICTS = Path(__file__).parent / "data" / "reference_state_dicts.json"

# REFERENCE.md section 4.
PARAMS = {
    "resnet20": 272_474, "resnet20_noshort": 269_722,
    "resnet56": 855_770, "resnet56_noshort": 853_018,
    "resnet110": 1_730_714, "resnet110_noshort": 1_727_962,
    "wrn56_2": 3_412_394, "wrn56_2_noshort": 3_401_770,
    "wrn56_4": 13_628_234, "wrn56_8": 54_470_282,
    "vgg9": 2_789_706, "densenet121": 6_956_298,
}


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(REFERENCE_STATE_DICTS.read_text())


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count_equals_reference(name):
    assert num_parameters(get_model(name)) == PARAMS[name]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_state_dict_equals_the_reference_models(name, reference):
    """Same keys, in the same order, with the same shapes: the released checkpoints load."""
    assert name in reference, f"{name} is missing from {REFERENCE_STATE_DICTS.name}"
    model = get_model(name)
    ours = [(key, list(value.shape)) for key, value in model.state_dict().items()]
    theirs = [(key, shape) for key, shape in reference[name]["state_dict"]]
    assert ours == theirs, f"{name}: {first_difference(ours, theirs)}"
    assert num_parameters(model) == reference[name]["params"]


def first_difference(ours: list, theirs: list) -> str:
    """Where two ``(key, shape)`` lists first disagree, for a readable failure."""
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            return f"entry {i}: ours {a}, reference {b}"
    return f"ours has {len(ours)} entries, the reference {len(theirs)}"


def test_every_listed_model_builds_and_classifies_cifar_images(one_thread):
    for name in model_names():
        if name.startswith("wrn56_8"):
            continue  # 54M parameters: counted above, too slow to run here
        model = get_model(name).eval()
        with torch.no_grad():
            assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10), name


def test_resnet_state_dict_keys_are_the_reference_names():
    keys = set(get_model("resnet20").state_dict())
    expected = {"conv1.weight", "bn1.weight", "bn1.running_var", "linear.weight", "linear.bias"}
    for stage in (1, 2, 3):
        for block in range(3):
            for part in ("conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.running_mean"):
                expected.add(f"layer{stage}.{block}.{part}")
    for stage in (2, 3):  # projection shortcuts where the shape changes
        expected |= {f"layer{stage}.0.shortcut.0.weight", f"layer{stage}.0.shortcut.1.weight",
                     f"layer{stage}.0.shortcut.1.bias", f"layer{stage}.0.shortcut.1.running_mean"}
    assert expected <= keys
    assert not any(k.startswith("layer1.0.shortcut") for k in keys)
    assert not any("shortcut" in k for k in get_model("resnet20_noshort").state_dict())


def test_reference_initialization():
    model = get_model("resnet56", seed=3)
    assert torch.equal(model.bn1.weight, torch.ones(16))
    assert torch.equal(model.layer2[0].bn2.bias, torch.zeros(32))
    assert torch.equal(model.linear.bias, torch.zeros(10))
    assert abs(model.linear.weight.std().item() - 1e-3) < 2e-4
    conv = model.layer3[1].conv1.weight  # fan_in = 64 * 3 * 3, kaiming std = sqrt(2 / fan_in)
    assert abs(conv.std().item() - (2 / 576) ** 0.5) < 0.003


def test_densenet121_has_the_reference_initialization_and_layout():
    model = get_model("densenet121", seed=0)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(convs) == 1 + 2 * (6 + 12 + 24 + 16) + 3 and all(c.bias is None for c in convs)
    assert all(torch.equal(b.weight, torch.ones_like(b.weight)) for b in bns)
    assert all(torch.equal(b.bias, torch.zeros_like(b.bias)) for b in bns)
    assert model.linear.in_features == 1024 and torch.equal(model.linear.bias, torch.zeros(10))
    assert abs(model.linear.weight.std().item() - 1e-3) < 2e-4
    conv = model.dense3[0].conv1.weight  # [128, 256, 1, 1]: fan_in 256, kaiming std sqrt(2 / 256)
    assert abs(conv.std().item() - (2 / 256) ** 0.5) < 0.003


def test_seed_fixes_initialization_without_touching_global_rng():
    state = torch.get_rng_state()
    a, b = get_model("resnet20", seed=1), get_model("resnet20", seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c = get_model("resnet20", seed=2)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_unknown_model_lists_valid_names():
    with pytest.raises(LandscapeError, match=r"unknown model 'resnet21'.*resnet20.*vgg9"):
        get_model("resnet21")


@pytest.mark.parametrize("name, prefix", [
    ("resnet20", "module."), ("vgg9", "module."), ("vgg9", ""), ("densenet121", "module."),
])
def test_reference_style_checkpoint_loads(tmp_path, name, prefix):
    """A reference checkpoint: maybe a 'module.' prefix, no num_batches_tracked, no arch."""
    source = get_model(name, seed=5)
    with torch.no_grad():  # non-default statistics, so a buffer that fails to load shows
        for m in source.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    state = {f"{prefix}{k}": v for k, v in source.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    path = tmp_path / "model_300.t7"
    torch.save({"state_dict": state, "acc": 92.6, "epoch": 300}, path)
    with pytest.raises(LandscapeError, match="does not record its architecture"):
        load_model(path)
    model, payload = load_model(path, arch=name)
    assert payload["epoch"] == 300 and payload["acc"] == 92.6 and not model.training
    loaded = model.state_dict()
    for key, value in source.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(loaded[key], value), key


def test_checkpoint_for_another_architecture_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"state_dict": get_model("resnet20_noshort").state_dict()})
    with pytest.raises(LandscapeError, match=r"c\.pt does not fit .*missing \['layer2\.0\.shortcut"):
        load_model(path, arch="resnet20")


def test_unreadable_checkpoint_is_named(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(LandscapeError, match=r"broken\.pt cannot be read"):
        load_model(path, arch="resnet20")
    with pytest.raises(LandscapeError, match=r"missing\.pt does not exist"):
        load_model(tmp_path / "missing.pt")
