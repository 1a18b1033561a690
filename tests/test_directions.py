"""Random and target directions: normalization, determinism, files (ours and the reference's)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from landscape.checkpoint import save_checkpoint
from landscape.directions import (
    align, directions_for_checkpoint, random_directions, read_directions, target_direction,
    write_directions,
)
from landscape.errors import LandscapeError
from landscape.models import get_model


@pytest.fixture(scope="module")
def model():
    return get_model("resnet20", seed=0)


def _weights(model):
    return [p.detach() for p in model.parameters()]


def test_filter_normalization_matches_every_filter_and_row(model):
    dirs = random_directions(model, seed=3)
    checked = 0
    for (name, w), d in zip(model.named_parameters(), dirs.x):
        assert d.shape == w.shape and d.dtype == torch.float32
        if w.dim() >= 2:  # conv filters [in, k, k] and Linear rows, one norm each
            torch.testing.assert_close(d.flatten(1).norm(dim=1), w.detach().flatten(1).norm(dim=1),
                                       rtol=1e-5, atol=1e-7)
            checked += 1
        else:
            assert torch.count_nonzero(d) == 0, f"{name} must not move under biasbn"
    assert checked == 22  # resnet20: stem, 18 block convs, 2 shortcut convs, linear
    assert model.linear.weight.dim() == 2


def test_ignore_none_copies_the_weight_and_other_norms(model):
    weights = _weights(model)
    kept = random_directions(model, ignore="none", seed=1)
    for w, d in zip(weights, kept.x):
        if w.dim() <= 1:
            assert torch.equal(d, w)
    raw = random_directions(model, norm="none", seed=1)
    layer = random_directions(model, norm="layer", seed=1)
    scaled = random_directions(model, norm="weight", seed=1)
    filt = random_directions(model, norm="filter", seed=1)
    for w, r, lay, s, f in zip(weights, raw.x, layer.x, scaled.x, filt.x):
        if w.dim() < 2:
            continue
        torch.testing.assert_close(lay.norm(), w.norm(), rtol=1e-5, atol=0)
        torch.testing.assert_close(s, r * w)
        # Filter normalization only rescales each slice of the same draw.
        ratio = f.flatten(1).norm(dim=1) / r.flatten(1).norm(dim=1)
        torch.testing.assert_close(f, r * ratio.view(-1, *[1] * (r.dim() - 1)))


def test_same_seed_same_direction_other_seed_differs(model):
    torch.manual_seed(123)  # the global RNG must not matter
    a = random_directions(model, seed=7)
    torch.manual_seed(456)
    b = random_directions(model, seed=7)
    c = random_directions(model, seed=8)
    assert all(torch.equal(u, v) for u, v in zip(a.x + a.y, b.x + b.y))
    assert not torch.equal(a.x[0], c.x[0])
    assert not torch.equal(a.x[0], a.y[0])
    one = random_directions(model, axes=1, seed=7)
    assert one.y is None and all(torch.equal(u, v) for u, v in zip(one.x, a.x))


def test_states_directions_cover_every_state_entry(model):
    dirs = random_directions(model, dir_type="states", seed=0)
    state = model.state_dict()
    assert len(dirs.x) == len(state)
    for (name, w), d in zip(state.items(), dirs.x):
        assert d.shape == w.shape
        if name.endswith("num_batches_tracked") or w.dim() <= 1:
            assert torch.count_nonzero(d) == 0, name
    alignment = align(dirs, model)
    assert alignment.dir_type == "states"
    assert not any(n.endswith("num_batches_tracked") for n in alignment.names)
    assert any(n.endswith("running_var") for n in alignment.names)


def test_target_direction_is_the_difference(model):
    other = get_model("resnet20", seed=1)
    d = target_direction(model, other)
    assert d.ndim == 1
    for a, b, t in zip(model.parameters(), other.parameters(), d.x):
        assert torch.equal(t, b.detach() - a.detach())
    states = target_direction(model, other, "states")
    assert len(states.x) == len(model.state_dict())


def test_file_round_trip_with_provenance(tmp_path, model):
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, {"state_dict": model.state_dict(), "arch": "resnet20"})
    dirs = directions_for_checkpoint(ckpt, seed=5)
    path = write_directions(tmp_path / "d.h5", dirs)
    back = read_directions(path)
    assert back.ndim == 2 and back.source == str(path)
    assert all(torch.equal(u, v) for u, v in zip(dirs.x + dirs.y, back.x + back.y))
    for key in ("checkpoint", "checkpoint_sha256", "arch", "seed", "dir_type", "norm", "ignore",
                "landscape_version"):
        assert key in back.attrs
    assert back.attrs["seed"] == 5 and back.attrs["norm"] == "filter"
    with h5py.File(path) as fh:
        assert sorted(fh) == ["xdirection", "ydirection"]
        assert fh["xdirection/0"].dtype == np.float32
        assert len(fh["xdirection"]) == len(list(model.parameters()))


def test_reference_layout_file_without_attributes_is_read(tmp_path, model):
    weights = _weights(model)
    path = tmp_path / "ref.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as fh:  # what the reference's h5_util.write_list writes
        for group in ("xdirection", "ydirection"):
            g = fh.create_group(group)
            for i, w in enumerate(weights):
                g.create_dataset(str(i), data=rng.normal(size=tuple(w.shape)).astype(np.float32))
    dirs = read_directions(path)
    assert dirs.attrs == {} and len(dirs.y) == len(weights)
    assert align(dirs, model).dir_type == "weights"  # inferred from the count


def test_wrong_count_or_shape_names_the_file(tmp_path, model):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("xdirection/0", data=np.zeros((3, 3), np.float32))
    with pytest.raises(LandscapeError, match=r"bad\.h5 has 1 tensors.*65 \(weights\)"):
        align(read_directions(path), model)
    weights = _weights(model)
    with h5py.File(path, "w") as fh:
        for i, w in enumerate(weights):
            shape = (2, 2) if i == 3 else tuple(w.shape)
            fh.create_dataset(f"xdirection/{i}", data=np.zeros(shape, np.float32))
    with pytest.raises(LandscapeError, match=r"bad\.h5: tensor 3 has shape \(2, 2\)"):
        align(read_directions(path), model)
    with h5py.File(path, "w") as fh:
        fh.create_dataset("xdirection/1", data=np.zeros(2, np.float32))
    with pytest.raises(LandscapeError, match=r"'0'\.\.'N-1'"):
        read_directions(path)
    with pytest.raises(LandscapeError, match="does not exist"):
        read_directions(tmp_path / "missing.h5")
