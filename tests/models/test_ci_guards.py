"""Under CI=true a missing numpy or torch fails the models' suite instead of skipping it; locally it skips."""
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(tmp_path, ci, module):
    """pytest on test_rl_flow.py with `module` made unimportable -> CompletedProcess."""
    fake = tmp_path / "fake"
    fake.mkdir(exist_ok=True)
    (fake / f"{module}.py").write_text(f"raise ImportError('no {module} here (test_ci_guards)')\n")
    env = dict(os.environ, PYTHONPATH=str(fake) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "test_rl_flow.py")],
                          env=env, capture_output=True, text=True, cwd=str(tmp_path), timeout=300)


def test_missing_torch_fails_in_ci_and_skips_locally(tmp_path):
    ci = _run(tmp_path, True, "torch")
    assert ci.returncode not in (0, 5), ci.stdout + ci.stderr
    assert "torch" in ci.stdout + ci.stderr and "skipped" not in ci.stdout
    local = _run(tmp_path, False, "torch")
    assert local.returncode in (0, 5) and "skipped" in local.stdout, local.stdout + local.stderr


def test_missing_numpy_fails_in_ci(tmp_path):
    ci = _run(tmp_path, True, "numpy")
    assert ci.returncode not in (0, 5), ci.stdout + ci.stderr
    assert "numpy" in ci.stdout + ci.stderr
