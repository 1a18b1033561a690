"""The fast sweep evaluator and the training fast path compute what the plain paths compute."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from landscape import data as datasets
from landscape import precision as policy
from landscape.checkpoint import load_model, read_checkpoint, save_checkpoint
from landscape.engine import fold_batchnorm, make_evaluator
from landscape.errors import LandscapeError
from landscape.evaluate import evaluate
from landscape.models import get_model
from landscape.train import TrainConfig, make_train_step, train

FP32_TOL = 1e-5  # folding reorders a few float32 products; nothing else changes


@pytest.fixture(scope="module")
def images(data_dir) -> datasets.ImageSet:
    full = datasets.load("synthetic", "train", data_dir)
    return datasets.ImageSet(full.images[:128].clone(), full.labels[:128].clone())


@pytest.fixture()
def trained(trained_checkpoint) -> nn.Module:
    return load_model(trained_checkpoint)[0]


def close(a: tuple[float, float], b: tuple[float, float], tol: float = FP32_TOL) -> bool:
    return policy.relative_error(a[0], b[0]) < tol and a[1] == pytest.approx(b[1], abs=1e-9)


class Tiny(nn.Module):
    """A conv-BN net small enough to compile in seconds on a CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.linear = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.conv(x)))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


def randomize_bn_(model: nn.Module, seed: int) -> None:
    """Non-trivial running statistics and affine parameters, so folding has work to do."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.running_mean.copy_(0.2 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(n, generator=gen))
                m.weight.copy_(0.5 + torch.rand(n, generator=gen))
                m.bias.copy_(0.1 * torch.randn(n, generator=gen))


# ------------------------------------------------------------------------------- folding


def test_folded_equals_unfolded_and_sees_in_place_changes(trained, images):
    folded = make_evaluator(trained, images)
    unfolded = make_evaluator(trained, images, fold_bn=False)
    assert folded.folded == 21 and unfolded.folded == 0  # stem + 18 block + 2 shortcut BNs
    plain = evaluate(trained, images)
    assert close(folded(), plain) and close(unfolded(), plain)

    # The sweep moves weights and (for `states` directions) running statistics in place.
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(p.abs().mean() * torch.randn(p.shape, generator=gen))
        for m in trained.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.add_(0.1)
                m.running_var.mul_(1.5)
    moved = evaluate(trained, images)
    assert policy.relative_error(moved[0], plain[0]) > 1e-3  # the change is visible...
    assert close(folded(), moved) and close(unfolded(), moved)  # ...and seen by the evaluator
    assert trained.conv1.weight.requires_grad  # the model is left as it was


def test_evaluator_restores_training_mode_and_leaves_running_stats(images):
    model = get_model("resnet20", seed=1).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    make_evaluator(model, datasets.ImageSet(images.images[:64], images.labels[:64]))()
    assert model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_vgg9_folds_convolutions_and_its_linear_batchnorm(images):
    model = get_model("vgg9", seed=0)
    randomize_bn_(model, seed=1)
    few = datasets.ImageSet(images.images[:32], images.labels[:32])
    evaluator = make_evaluator(model, few, batch_size=16)
    assert evaluator.folded == 8  # 7 Conv2d+BatchNorm2d, 1 Linear+BatchNorm1d
    assert any(fold.layer is model.fc[0] and fold.bn is model.fc[1] for fold in evaluator.folds)
    assert close(evaluator(), evaluate(model.eval(), few))


def test_densenet121_folds_only_conv_then_batchnorm(images):
    """Pre-activation layers put BN *before* conv: only conv1 -> bn2 inside each bottleneck folds.

    Every other BatchNorm reads a concatenation, a transition's pooled output, or the stem
    conv's output, which is concatenated too; those run unfolded. Folded or not, the loss is
    the plain evaluation's.
    """
    model = get_model("densenet121", seed=0)
    randomize_bn_(model, seed=2)
    few = datasets.ImageSet(images.images[:4], images.labels[:4])
    evaluator = make_evaluator(model, few)
    bottlenecks = [b for dense in (model.dense1, model.dense2, model.dense3, model.dense4)
                   for b in dense]
    assert evaluator.folded == len(bottlenecks) == 58 and evaluator.fold_error is None
    assert [(f.layer, f.bn) for f in evaluator.folds] == [(b.conv1, b.bn2) for b in bottlenecks]
    plain = evaluate(model.eval(), few)
    assert close(evaluator(), plain) and close(make_evaluator(model, few, fold_bn=False)(), plain)


class SharedOutput(nn.Module):
    """conv1's output feeds its BatchNorm and a residual sum: it must not fold."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(8)
        self.bn0 = nn.BatchNorm2d(8)  # BatchNorm *before* a conv: not a fold pattern either
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.linear = nn.Linear(8, 10)

    def forward(self, x):
        y = self.conv1(x)
        z = self.conv2(self.bn0(F.relu(self.bn1(y) + y)))
        return self.linear(z.mean((2, 3)))


class Untraceable(Tiny):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            x = x * 1.0
        return super().forward(x)


def test_patterns_that_do_not_fold_run_unfolded(images):
    few = datasets.ImageSet(images.images[:32], images.labels[:32])
    shared = SharedOutput()
    randomize_bn_(shared, seed=2)
    evaluator = make_evaluator(shared, few)
    assert evaluator.folded == 0 and evaluator.fold_error is None
    assert close(evaluator(), evaluate(shared, few))

    torch.manual_seed(0)
    untraceable = Untraceable()
    randomize_bn_(untraceable, seed=3)
    evaluator = make_evaluator(untraceable, few)
    assert evaluator.folded == 0 and "TraceError" in evaluator.fold_error
    assert close(evaluator(), evaluate(untraceable, few))


def test_cpu_streams_compute_what_one_stream_computes(trained, images):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = make_evaluator(trained, images, batch_size=16)
        assert len(one._shards(len(images), 16)) == 1
        single = one()
        torch.set_num_threads(3)  # 3 shards of 48, 48 and 32 images
        three = make_evaluator(trained, images, batch_size=16)
        assert three._shards(len(images), 16) == [(0, 48), (48, 96), (96, 128)]
        assert close(three(), single)
        assert torch.get_num_threads() == 3  # restored after the streams ran
    finally:
        torch.set_num_threads(threads)


def test_cuda_precision_switches_are_restored():
    conv, matmul = torch.backends.cudnn.conv, torch.backends.cuda.matmul
    saved = (conv.fp32_precision, matmul.fp32_precision)
    with policy._cuda_fp32_precision("ieee"):
        assert (conv.fp32_precision, matmul.fp32_precision) == ("ieee", "ieee")
    assert (conv.fp32_precision, matmul.fp32_precision) == saved
    with pytest.raises(RuntimeError), policy._cuda_fp32_precision("tf32"):
        raise RuntimeError
    assert (conv.fp32_precision, matmul.fp32_precision) == saved


def test_fold_leaves_the_model_untouched(trained, images):
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    names = [n for n, _ in trained.named_modules()]
    _, folds = fold_batchnorm(trained.eval(), datasets.normalize(images.images[:2]))
    assert len(folds) == 21
    assert [n for n, _ in trained.named_modules()] == names
    for key, value in trained.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(fold.fused is not fold.layer for fold in folds)


# ----------------------------------------------------------------------------- precision


def test_bf16_is_within_its_bound_and_really_runs_in_bf16(trained, images):
    few = datasets.ImageSet(images.images[:64], images.labels[:64])
    truth = policy.evaluate_float64(trained, few)
    fp32 = make_evaluator(trained, few)()
    bf16 = make_evaluator(trained, few, precision="bf16")()
    assert policy.relative_error(fp32[0], truth[0]) < 1e-5
    assert 1e-6 < policy.relative_error(bf16[0], truth[0]) < 2e-2  # bf16 keeps 8 mantissa bits
    assert abs(bf16[1] - truth[1]) <= 100 * 2 / len(few)  # at most two predictions flip


def test_tf32_is_fp32_on_a_cpu(trained, images):
    evaluator = make_evaluator(trained, images, precision="tf32")
    assert evaluator.precision == "fp32"
    assert evaluator() == make_evaluator(trained, images, precision="fp32")()


def test_auto_picks_a_mode_within_the_bound(trained, images):
    few = datasets.ImageSet(images.images[:64], images.labels[:64])
    evaluator = make_evaluator(trained, few, precision="auto")
    choice = evaluator.choice
    assert evaluator.precision == choice.name in policy.candidates(torch.device("cpu"))
    assert choice.max_error() < policy.ERROR_BOUND
    assert set(choice.errors[choice.name]) == {"centre", "corner"}
    described = evaluator.describe()
    assert described["precision"] == choice.name and described["folded_batchnorms"] == 21
    assert described["precision_probe_max_error"] == choice.max_error()


def test_auto_skips_a_faster_mode_that_misses_the_bound(monkeypatch, trained, images):
    monkeypatch.setattr(policy, "candidates", lambda device: ["bf16", "tf32", "fp32"])
    truth = {}
    monkeypatch.setattr(policy, "evaluate_float64", lambda net, probe, **kw: truth.setdefault(
        id(net), (1.0 + len(truth), 50.0)))

    def measure(net, probe, mode):  # bf16 inside the bound but not its margin, tf32 well inside
        return truth[id(net)][0] * (1 + {"bf16": 7e-4, "tf32": 1e-4, "fp32": 0.0}[mode])

    few = datasets.ImageSet(images.images[:16], images.labels[:16])
    choice = policy.choose(trained, few, measure)
    assert choice.name == "tf32" and list(choice.errors) == ["bf16", "tf32"]
    assert choice.max_error("bf16") == pytest.approx(7e-4, rel=1e-6)
    choice = policy.choose(trained, few, measure, bound=1e-5)
    assert choice.name == "fp32"


def test_auto_with_a_single_candidate_probes_nothing(monkeypatch, trained, images):
    monkeypatch.setattr(policy, "candidates", lambda device: ["fp32"])

    def no_float64(*args, **kwargs):
        raise AssertionError("the probe ran although there is nothing to choose")

    monkeypatch.setattr(policy, "evaluate_float64", no_float64)
    evaluator = make_evaluator(trained, images, precision="auto")
    assert evaluator.precision == "fp32" and evaluator.choice.errors == {}
    assert evaluator.describe()["precision_probe_max_error"] is None


def test_corner_probe_moves_weights_only(trained):
    corner = policy.corner_model(trained)
    for (name, a), b in zip(trained.state_dict().items(), corner.state_dict().values()):
        moved = not torch.equal(a, b)
        assert moved == (name.endswith("weight") and a.dim() > 1), name


def test_bad_precision_and_data_are_refused(trained, images):
    with pytest.raises(LandscapeError, match="unknown precision 'fp16'"):
        make_evaluator(trained, images, precision="fp16")
    with pytest.raises(LandscapeError, match="empty data set"):
        make_evaluator(trained, datasets.ImageSet(images.images[:0], images.labels[:0]))
    with pytest.raises(LandscapeError, match="batch_size"):
        make_evaluator(trained, images, batch_size=0)


# ------------------------------------------------------------- any image and model dtype


@pytest.mark.parametrize("model_dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("image_dtype", [torch.uint8, torch.float32, torch.float64])
def test_engine_equals_the_plain_path_for_any_images_and_model(images, image_dtype, model_dtype):
    # uint8 images are normalized with the paper's constants; float images are taken as
    # already preprocessed by both paths (never divided by 255 again); a float64 model runs
    # in float64. Unnormalized float pixels (0..255) make the difference visible.
    torch.manual_seed(0)
    model = Tiny().to(model_dtype)
    randomize_bn_(model, seed=5)
    pixels = images.images[:48]
    inputs = pixels if image_dtype == torch.uint8 else pixels.to(image_dtype)
    data = datasets.ImageSet(inputs, images.labels[:48])
    plain = evaluate(model, data, 16)
    engine = make_evaluator(model, data, precision="auto" if model_dtype == torch.float64
                            else "fp32", batch_size=16)
    assert close(engine(), plain, tol=1e-12 if model_dtype == torch.float64 else FP32_TOL)
    assert engine.folded == 1
    if model_dtype == torch.float64:
        assert engine.precision == "fp64"
    # the independent computation: the inputs exactly as given (or normalized when uint8)
    x = datasets.normalize(pixels, model_dtype) if image_dtype == torch.uint8 else inputs
    with torch.no_grad():
        expected = F.cross_entropy(model.eval()(x.to(model_dtype)).double(), data.labels).item()
    assert policy.relative_error(plain[0], expected) < 1e-6


def test_other_model_dtypes_and_precisions_are_refused_in_one_line(images):
    data = datasets.ImageSet(images.images[:16], images.labels[:16])
    double = Tiny().double()
    for mode in ("fp32", "bf16", "tf32"):
        with pytest.raises(LandscapeError) as err:
            make_evaluator(double, data, precision=mode)
        message = str(err.value)
        assert "float64" in message and "precision auto" in message and "\n" not in message
    for dtype in (torch.float16, torch.bfloat16):
        with pytest.raises(LandscapeError) as err:
            make_evaluator(Tiny().to(dtype), data, precision="auto")
        assert f"this one is {dtype}" in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------------------- compile


def test_compiled_equals_eager(images):
    torch.manual_seed(0)
    model = Tiny()
    randomize_bn_(model, seed=4)
    few = datasets.ImageSet(images.images[:64], images.labels[:64])
    eager = make_evaluator(model, few, batch_size=32)
    compiled = make_evaluator(model, few, batch_size=32, compile=True)
    assert compiled.compiled and close(compiled(), eager())
    with torch.no_grad():
        model.conv.weight.mul_(-1.3)
        model.bn.running_var.mul_(2.0)
    assert close(compiled(), eager())  # compiled code reads the weights at each call


def test_compiled_training_step_matches_eager():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (32,))
    eager, compiled = Tiny(), None
    compiled = copy.deepcopy(eager)
    steps = []
    for net, comp in ((eager, False), (compiled, True)):
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        step = make_train_step(net, opt, precision="fp32", compile=comp)
        steps.append([step(images, labels)[0].item() for _ in range(3)])
    assert steps[0] == pytest.approx(steps[1], rel=1e-4)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------ training


def _config(data_dir, **overrides) -> TrainConfig:
    settings = {"model": "resnet20", "dataset": "synthetic", "data_dir": str(data_dir),
                "epochs": 2, "train_size": 64, "test_size": 32, "milestones": (1,),
                "save_every": 1, "seed": 5, "batch_size": 32, "device": "cpu"}
    settings.update(overrides)
    return TrainConfig(**settings)


def test_cpu_training_precisions_are_the_plain_loop_bit_for_bit(tmp_path, data_dir):
    runs = {}
    for precision in ("auto", "fp32", "tf32"):
        final = train(_config(data_dir, precision=precision, epochs=1), tmp_path / precision, progress=False)
        runs[precision] = read_checkpoint(final)["state_dict"]
    for precision in ("fp32", "tf32"):
        for key, value in runs["auto"].items():
            assert torch.equal(value, runs[precision][key]), (precision, key)


def test_resume_accepts_runs_saved_before_the_speed_settings(tmp_path, data_dir):
    cfg = _config(data_dir)
    whole = train(cfg, tmp_path / "whole", progress=False)
    killed = tmp_path / "killed"

    def stop(epoch, row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, killed, progress=False, on_epoch_end=stop)
    state = read_checkpoint(killed / "resume.pt")
    for key in ("precision", "compile"):  # as an older version wrote it
        del state["config"][key]
    save_checkpoint(killed / "resume.pt", state)
    resumed = train(cfg, killed, progress=False)
    a, b = read_checkpoint(whole)["state_dict"], read_checkpoint(resumed)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(LandscapeError, match=r"different settings \(precision\)"):
        train(_config(data_dir, precision="bf16"), killed, progress=False)


def test_bad_training_precision_is_refused(tmp_path, data_dir):
    with pytest.raises(LandscapeError, match="precision 'half' is not one of: auto, fp32"):
        train(_config(data_dir, precision="half"), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
