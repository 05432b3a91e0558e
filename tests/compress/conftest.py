"""Shared fixtures: a briefly trained LeNet-5 (float) and shipped MNIST subsets."""

from __future__ import annotations

import copy

import pytest
import torch

from fpgac.compress.data import Dataset, load_split
from fpgac.compress.models import lenet5
from fpgac.compress.train import TrainConfig, train


@pytest.fixture(scope="session")
def train_small() -> Dataset:
    full = load_split("train5k")
    idx = torch.randperm(len(full), generator=torch.Generator().manual_seed(0))[:1000]
    return Dataset(full.pixels[idx], full.labels[idx])


@pytest.fixture(scope="session")
def test_set() -> Dataset:
    return load_split("test")


@pytest.fixture(scope="session")
def _lenet_trained(train_small):
    model = lenet5(seed=0)
    train(model, train_small, TrainConfig(epochs=2, seed=0), progress=False)
    return model


@pytest.fixture
def lenet_trained(_lenet_trained):
    """A fresh copy (tests may prune it) of LeNet-5 trained 2 epochs on 1000 images."""
    return copy.deepcopy(_lenet_trained)
