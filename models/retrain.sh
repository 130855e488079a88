#!/usr/bin/env bash
# Retrains every reference model from scratch with fixed seeds and rebuilds the bundles:
#   stage 1 (pre-training: auto-encoder, flow decoder, caption encoder, scorer), (full config) the i2i backbone,
#   stage 2 (GRPO on the encoder: the full config runs the TypeScript trainer, `uae train`, with reward sim + i2i and
#   imports its checkpoints with uae.from_bundle --stage2; tiny runs uae.rl), stage 3 (Flow-GRPO on the decoder), then
#   public/models/uae-shapes (with the stage-2 checkpoints and both runs) and public/models/uae-shapes-flowgrpo
#   (stage 3's refined decoder), the backbone added to both.
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
if [ "$CONFIG" = full ]; then
  # the i2i backbone (docs/backbones.md): trained image to image on the frozen decoder's reconstructions, probed on
  # held-out seeds 2 and 3; stage 2's reward needs it
  $PY -m uae.train_backbone
  $PY -m uae.train_backbone --probe-only --probe-seed 3
  # stage 2 is the TypeScript trainer (docs/backbones.md): reward sim + i2i, a length penalty that prices repeats,
  # from the cold start of a pre-RL bundle (uae.bundle with no stage-2 snapshots) that carries the backbone
  rm -rf "$WORK/ckpt/rl_encoder-snapshots"
  $PY -m uae.bundle --config full
  $PY -m uae.train_backbone --export ../public/models/uae-shapes
  STAGE2="node ../bin/uae.mjs train --ort native --reward sim=0.5,i2i=0.5 --length-penalty linear:0.005 --eval-every 10 --seed 0 --steps 200"
  $STAGE2 --bundle ../public/models/uae-shapes --out "$WORK/stage2-ts"
  $PY -m uae.from_bundle --stage2 "$WORK/stage2-ts" --reward sim=0.5,i2i=0.5 --length-penalty linear:0.005 \
    --command "$STAGE2"
else
  $PY -m uae.rl --config "$CONFIG"
fi
$PY -m uae.rl_flow --config "$CONFIG"
$PY -m uae.bundle --config "$CONFIG"
$PY -m uae.bundle --config "$CONFIG" --variant flowgrpo --out ../public/models/uae-shapes-flowgrpo \
  --id uae-shapes-flowgrpo --name "UAE Shapes after Flow-GRPO (stage 3)"
if [ "$CONFIG" = full ]; then
  # the backbone into both bundles, its section written into the model card
  $PY -m uae.train_backbone --export ../public/models/uae-shapes ../public/models/uae-shapes-flowgrpo
  $PY -m uae.train_backbone --card ../public/models/uae-shapes
fi
echo "retrain ($CONFIG) wall time: $(( $(date +%s) - start )) s"
