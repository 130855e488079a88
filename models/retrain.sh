#!/usr/bin/env bash
# Retrains every reference model from scratch with fixed seeds and rebuilds public/models/uae-shapes.
# Stages resume from models/work/ckpt/ when interrupted; delete models/work/ to start over.
# Usage: models/retrain.sh [full|tiny]
set -euo pipefail
cd "$(dirname "$0")"
PY=${UAE_PYTHON:-/usr/bin/python3}
CONFIG=${1:-full}
start=$(date +%s)
$PY -m uae.train --stage all --config "$CONFIG"
$PY -m uae.bundle --config "$CONFIG"
echo "retrain ($CONFIG) wall time: $(( $(date +%s) - start )) s"
