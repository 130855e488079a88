"""Shared fixtures of the models' pytest suite."""
import pytest


@pytest.fixture
def float32():
    """Runs a test in float32, as the pipeline does, whatever default dtype an earlier module of the session
    left (test_grpo_ref sets float64 globally)."""
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(old)
