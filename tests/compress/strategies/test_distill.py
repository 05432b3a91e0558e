import copy

import pytest
import torch
from torch.nn import functional as F

from fpgac.compress.models import build_cnn
from fpgac.compress.quantize import calibrate, quantize_model
from fpgac.compress.strategies.distill import distill, distill_loss
from fpgac.compress.tiny import TINY_SPEC
from fpgac.compress.train import TrainConfig
from fpgac.errors import FpgacError

STUDENT = [dict(layer) for layer in TINY_SPEC]
STUDENT[0] = {**STUDENT[0], "out_channels": 2}
STUDENT[3] = {**STUDENT[3], "out_channels": 4}


def test_distill_loss_terms():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(8, 10, generator=g), torch.randn(8, 10, generator=g)
    y = torch.randint(0, 10, (8,), generator=g)
    torch.testing.assert_close(distill_loss(s, t, y, 0.0, 4.0), F.cross_entropy(s, y))
    assert float(distill_loss(s, s, y, 1.0, 3.0)) == pytest.approx(0.0, abs=1e-6)
    p_t = F.softmax(t / 2.0, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / 2.0, 1))).sum(1).mean()
    want = 0.25 * 4.0 * kl + 0.75 * F.cross_entropy(s, y)
    torch.testing.assert_close(distill_loss(s, t, y, 0.25, 2.0), want)
    with pytest.raises(FpgacError, match=r"distill.alpha: expected a fraction in \[0, 1\], "
                                         r"found 1.5"):
        distill_loss(s, t, y, 1.5, 2.0)
    with pytest.raises(FpgacError, match=r"distill.temperature: expected a number > 0, found 0"):
        distill_loss(s, t, y, 0.5, 0)


@pytest.mark.parametrize("features", [None, [("conv2", "conv2"), ("conv1", "conv1")]])
def test_student_learns_from_a_frozen_teacher(_tiny_trained, train_small, calib_small,
                                              exported_runs, features):
    teacher = copy.deepcopy(_tiny_trained)
    t_state = copy.deepcopy(teacher.state_dict())
    student = build_cnn(STUDENT, seed=3)
    s0 = copy.deepcopy(student.state_dict())
    losses = distill(student, teacher, train_small.head(300), TrainConfig(epochs=2, seed=0),
                     features=features, feature_weight=0.5)
    assert len(losses) == 2 and losses[1] < losses[0]
    assert all(torch.equal(v, t_state[k]) for k, v in teacher.state_dict().items())
    assert all(p.requires_grad for p in teacher.parameters())
    assert not torch.equal(s0["layers.conv1.weight"], student.layers["conv1"].weight)
    assert not student.layers["conv1"]._forward_hooks      # taps removed
    q = quantize_model(student, calibrate(student, calib_small), 8, name="tiny_student")
    exported_runs(q, legacy=True)


def test_feature_loss_changes_the_training(_tiny_trained, train_small):
    runs = []
    for weight in (0.0, 5.0):
        student = build_cnn(STUDENT, seed=3)
        runs.append(distill(student, _tiny_trained, train_small.head(100),
                            TrainConfig(epochs=1, seed=0), features=[("conv2", "conv2")],
                            feature_weight=weight))
    assert runs[1][0] > runs[0][0]          # the L2 term adds to the loss


def test_distill_feature_errors(_tiny_trained, train_small):
    student = build_cnn(STUDENT, seed=3)
    with pytest.raises(FpgacError, match=r"distill.features\[0\]: expected student and teacher "
                                         r"features of the same spatial shape, found "
                                         r"\(2, 28, 28\) and \(4, 14, 14\)"):
        distill(student, _tiny_trained, train_small.head(10), TrainConfig(epochs=1),
                features=[("conv1", "maxpool1")])
    with pytest.raises(FpgacError, match=r"distill.features: expected a student layer among "):
        distill(student, _tiny_trained, train_small.head(10), TrainConfig(epochs=1),
                features=[("nope", "conv1")])
