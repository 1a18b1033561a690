"""Reading checkpoints: hostile, random and damaged files are refused in one line of our own.

torch's own message for such files advises retrying with ``weights_only=False`` (which would
run the file's code) and comes with warnings; ours says what the file is, and nothing else.
"""

from __future__ import annotations

import os
import pickle
import warnings

import pytest
import torch

from landscape.checkpoint import read_checkpoint, save_checkpoint
from landscape.errors import LandscapeError
from landscape.models import get_model


class _Payload:
    """Unpickling this runs ``touch MARKER``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _files(tmp_path):
    """(file, what the message must say) for each kind of bad file."""
    marker = tmp_path / "MARKER"
    state = get_model("resnet20").state_dict()
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"state_dict": state, "arch": "resnet20"})
    hostile = tmp_path / "hostile.pt"
    torch.save({"state_dict": state, "arch": "resnet20", "note": _Payload(marker)}, hostile)
    legacy_hostile = tmp_path / "legacy_hostile.pt"
    torch.save({"state_dict": {}, "note": _Payload(marker)}, legacy_hostile,
               _use_new_zipfile_serialization=False)
    plain = tmp_path / "plain.pkl"  # protocol 4: torch also warns about the protocol
    plain.write_bytes(pickle.dumps({"state_dict": {}, "note": _Payload(marker)}, protocol=4))
    noise = tmp_path / "noise.pt"
    noise.write_bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0),
                                    dtype=torch.uint8).numpy().tobytes())
    text = tmp_path / "notes.pt"
    text.write_text("hello\n")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    code = "a pickle that would run code to load (posix.system); refused"
    return marker, [
        (hostile, code), (legacy_hostile, code), (plain, code),
        (noise, "not a PyTorch checkpoint"), (text, "not a PyTorch checkpoint"),
        (truncated, "a truncated or damaged archive"), (empty, "the file is empty"),
    ]


def test_bad_files_are_named_without_unsafe_advice(tmp_path, cli_error):
    marker, cases = _files(tmp_path)
    for path, what in cases:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(LandscapeError) as err:
                read_checkpoint(path)
        message = str(err.value)
        assert message.startswith(f"checkpoint {path} cannot be read: {what}"), message
        assert "weights_only" not in message and "\n" not in message
        assert caught == [], [str(w.message) for w in caught]
        line = cli_error("directions", "--checkpoint", path, "--out", tmp_path / "d.h5")
        assert what in line and "weights_only" not in line and "succeed" not in line
    assert not marker.exists()
    assert not (tmp_path / "d.h5").exists()
