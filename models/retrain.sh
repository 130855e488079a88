#!/usr/bin/env bash
# Retrains every reference model from scratch with fixed seeds and rebuilds the bundles:
#   stage 1 (pre-training: auto-encoder, flow decoder, caption encoder, scorer), stage 2 (GRPO on the
#   encoder), stage 3 (Flow-GRPO on the decoder), then public/models/uae-shapes (with the stage-2
#   checkpoints and both runs) and public/models/uae-shapes-flowgrpo (stage 3's refined decoder), then (full config)
#   the i2i backbone, added to both.
# Stages resume from models/work/ckpt/ when interrupted; delete models/work/ to start over.
# Usage: models/retrain.sh [full|tiny]
set -euo pipefail
cd "$(dirname "$0")"
PY=${UAE_PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}   # torch runs 2 threads; see uae/__init__.py
CONFIG=${1:-full}
start=$(date +%s)
$PY -m uae.train --stage all --config "$CONFIG"
pre=$(( $(date +%s) - start ))
WORK=${UAE_WORK:-work}
mkdir -p "$WORK/logs"
printf '{"seconds": %d, "command": "python3 -m uae.train --stage all --config %s"}\n' "$pre" "$CONFIG" > "$WORK/logs/pretrain_wall.json"
echo "pre-training ($CONFIG) wall time: $pre s"
$PY -m uae.rl --config "$CONFIG"
$PY -m uae.rl_flow --config "$CONFIG"
$PY -m uae.bundle --config "$CONFIG"
$PY -m uae.bundle --config "$CONFIG" --variant flowgrpo --out ../public/models/uae-shapes-flowgrpo \
  --id uae-shapes-flowgrpo --name "UAE Shapes after Flow-GRPO (stage 3)"
if [ "$CONFIG" = full ]; then
  # the i2i backbone (docs/backbones.md): trained image to image on the frozen decoder's reconstructions, probed on
  # held-out seeds 2 and 3, added to both bundles, its section written into the model card
  $PY -m uae.train_backbone
  $PY -m uae.train_backbone --probe-only --probe-seed 3
  $PY -m uae.train_backbone --export ../public/models/uae-shapes ../public/models/uae-shapes-flowgrpo
  $PY -m uae.train_backbone --card ../public/models/uae-shapes
fi
echo "retrain ($CONFIG) wall time: $(( $(date +%s) - start )) s"
