#!/usr/bin/env bash
# Regenerates public/models/uae-shapes/MODEL_CARD.md from measurements only: every `uae eval` the card cites
# (uae.card's EVALS and RL_EVALS, 200 held-out scenes of seed 2, the last stage-2 checkpoint also of seeds 3 and 4), the
# round-trip stability runs (uae.card_rl's LOOP_EVALS), stage 3 against the pre-RL decoder, paired
# (uae.stage3_paired), the scorer's retrieval (uae.evaluate --scorer), the reward probe (uae.probe), the i2i backbone's
# probes (seeds 2 and 3), then uae.card and the backbone's section.
# Needs the shipped bundles and models/work/ckpt: a finished models/retrain.sh, or on a fresh machine
# `python3 -m uae.from_bundle` (and `--stage2 RUN_DIR` for the stage-2 run's log and snapshots).
# Usage: models/card.sh
set -euo pipefail
cd "$(dirname "$0")"
PY=${UAE_PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
mkdir -p "${UAE_WORK:-work}/eval"
EVAL_DIR=$(cd "${UAE_WORK:-work}/eval" && pwd)
ev() {   # [SEED=S] ev NAME ARGS...: `uae eval --seed S (default 2) ARGS --json` -> models/work/eval/NAME.json
  local name=$1
  shift
  (cd .. && node bin/uae.mjs eval --scenes 200 --seed "${SEED:-2}" "$@" --json) > "$EVAL_DIR/$name.json.tmp"
  mv "$EVAL_DIR/$name.json.tmp" "$EVAL_DIR/$name.json"
  echo "eval $name: $EVAL_DIR/$name.json"
}
ev encoder
ev reference --encoder referenceEncoder
for lv in 0 1 2 3 4; do ev "level$lv" --captions "level:$lv"; done
ev ckpt-first --checkpoint first
ev ckpt-last --checkpoint last
ev flowgrpo --bundle public/models/uae-shapes-flowgrpo
# issue 19 point 2 on seeds that chose nothing
for s in 3 4; do SEED=$s ev "ckpt-last-seed$s" --checkpoint last; done
# round-trip stability (issue 19 point 4): uae.card_rl's LOOP_EVALS
loops() {   # loops NAME ARGS...: `uae roundtrip --scenes 100 --loops 10 ARGS --json` -> models/work/eval/NAME.json
  local name=$1
  shift
  (cd .. && node bin/uae.mjs roundtrip --scenes 100 --loops 10 "$@" --json) > "$EVAL_DIR/$name.json.tmp"
  mv "$EVAL_DIR/$name.json.tmp" "$EVAL_DIR/$name.json"
  echo "roundtrip $name: $EVAL_DIR/$name.json"
}
loops loops-seed3 --dataset-seed 3
loops loops-seed4 --dataset-seed 4
loops loops-flowgrpo-seed3 --dataset-seed 3 --bundle public/models/uae-shapes-flowgrpo
$PY -m uae.stage3_paired   # issue 19 point 3: 500 scenes of seeds 3 and 4, 3 noise seeds, paired
for ab in $($PY -c "from uae.card_stage3 import STAGE3_ABLATIONS as A; print(*[a[0] for a in A])"); do   # those run here
  if [ -f "${UAE_WORK:-work}/ckpt/$ab.pt" ]; then $PY -m uae.stage3_paired --stage "$ab"; fi
done
$PY -m uae.card_stage3 --keep   # the ablations' results into git (models/stage3_ablations.json): models/work is not kept
$PY -m uae.evaluate --scorer
$PY -m uae.probe
$PY -m uae.train_backbone --probe-only
$PY -m uae.train_backbone --probe-only --probe-seed 3
$PY -m uae.card
$PY -m uae.train_backbone --card ../public/models/uae-shapes
