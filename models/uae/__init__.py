"""Training pipeline of the reference UAE models (see models/retrain.sh).

OpenBLAS gets one thread unless told otherwise, before numpy or torch load it: PyTorch already runs
`UAE_THREADS` (default 2) intra-op threads, and each of them calling a 2-thread OpenBLAS oversubscribes the
cores. Measured on this project's 2-core machine (30 training steps per stage, torch 2 threads): seconds
per step with OpenBLAS at 2 threads / 1 thread: flow 0.643 / 0.237, encoder 0.549 / 0.351, scorer
1.006 / 0.746, auto-encoder 0.260 / 0.258.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
