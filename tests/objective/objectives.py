"""Objectives as a user writes them: plain functions, imported by name ("objectives:...")."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import torch
from torch import nn

CALLS: list[str] = []  # run keys of every call in this process


def train_mlp(run):
    """A hand-written PyTorch training loop: an MLP of `width` units on a noisy teacher task."""
    CALLS.append(run.run_key)
    (run.workdir / "scratch.txt").write_text("mine")  # the scratch folder is the run's own
    generator = torch.Generator().manual_seed(1234)  # the data is the same for every run
    teacher = torch.randn(8, 3, generator=generator)
    x = torch.randn(run.train_size + 256, 8, generator=generator)
    y = (x @ teacher + 0.3 * torch.randn(len(x), 3, generator=generator)).argmax(dim=1)
    x_train, y_train, x_val, y_val = x[: run.train_size], y[: run.train_size], x[run.train_size :], y[run.train_size :]

    torch.manual_seed(run.seed)
    model = nn.Sequential(nn.Linear(8, run.size["width"]), nn.ReLU(), nn.Linear(run.size["width"], 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=run.settings["lr"])
    for _ in range(run.settings["epochs"]):
        for batch in torch.randperm(len(x_train)).split(run.settings["batch_size"]):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
    with torch.no_grad():
        logits = model(x_val)
    return {
        "val_loss": nn.functional.cross_entropy(logits, y_val).item(),
        "val_accuracy": (logits.argmax(dim=1) == y_val).float().mean(),  # a 0-d tensor is a number
        "n_params": sum(p.numel() for p in model.parameters()),
        "pid": os.getpid(),
        "scratch_files": len(list(run.workdir.iterdir())),
    }


def fails_at_width_2(run):
    if run.size["width"] == 2:
        raise RuntimeError("out of luck at width 2")
    if run.size["width"] == 3:
        return {"val_loss": math.nan, "n_params": 3}
    if run.size["width"] == 4:
        return {"val_loss": 1.0}
    return {"val_loss": 1.0 / run.size["width"], "n_params": run.size["width"]}


def hangs_at_width_16(run):
    """Quick, except at width 16, where it never returns (what the time limit's kill is for)."""
    if run.size["width"] == 16:
        time.sleep(600)
    return {"val_loss": 1.0 / run.size["width"], "n_params": run.size["width"]}


def synthetic_power_law(run):
    """val_loss = 2 + 50 * N^-0.4 with 0.5% multiplicative noise, N = 100 * width^2."""
    CALLS.append(run.run_key)
    n_params = 100 * run.size["width"] ** 2
    noise = np.random.default_rng([run.seed, run.size["width"]]).normal(0.0, 0.005)
    return {"val_loss": (2 + 50 * n_params**-0.4) * (1 + noise), "n_params": n_params}


def with_own_params(run):
    """A model with two hyperparameters of its own, `gamma` and `C`: val_loss = gamma * C + 1 / width."""
    CALLS.append(run.run_key)
    return {
        "val_loss": run.settings["gamma"] * run.settings["C"] + 1 / run.size["width"],
        "n_params": run.size["width"],
        "epochs_seen": run.settings["epochs"],
    }
