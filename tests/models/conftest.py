"""Shared fixtures of the models' pytest suite.

Under CI=true a missing numpy or torch is a failure, not a skip: the session stops at start with the
ImportError, and the modules' `pytest.importorskip` calls import directly instead (they skip only on a
developer machine without the training dependencies).
"""
import importlib
import os

import pytest

REQUIRED_IN_CI = ("numpy", "torch")


def pytest_sessionstart(session):
    """Fails the run under CI=true when numpy or torch cannot be imported."""
    if os.environ.get("CI") == "true":
        missing = []
        for name in REQUIRED_IN_CI:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                missing.append(f"{name} ({exc})")
        if missing:
            raise pytest.UsageError("CI=true: required Python packages missing: " + ", ".join(missing))


def require(name):
    """Imports module `name` -> the module; skips the calling test without it, except under CI=true where
    the ImportError is raised (a failure)."""
    if os.environ.get("CI") == "true":
        return importlib.import_module(name)
    return pytest.importorskip(name)


@pytest.fixture
def float32():
    """Runs a test in float32, as the pipeline does, whatever default dtype an earlier module of the session
    left (test_grpo_ref sets float64 globally)."""
    torch = require("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(old)
