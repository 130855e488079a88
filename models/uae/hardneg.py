"""Scenes changed in one detail, rendered and captioned by the TypeScript shapes world
(scripts/render-scenes.ts): hard negatives for the scorer's contrastive training and the probe's
sensitivity table. A scene with two objects' positions swapped has the same colours, shapes and occupied
cells as the original, so only a scorer that binds each object to its place tells them apart."""
import copy
import json
import os
import subprocess
import tempfile

import numpy as np

from . import config as C
from .common import REPO
from .vocab import COLOURS, GRID, SHAPES

# kind -> description; "swap" and "drop" need two or more objects
KINDS = {"swap": "two objects' positions swapped", "shape": "one object's shape changed",
         "colour": "one object's colour changed", "size": "one object's size changed",
         "position": "one object moved to an empty cell", "drop": "a small object removed"}
TRAIN_WEIGHTS = {"swap": 0.3, "position": 0.2, "shape": 0.2, "colour": 0.1, "size": 0.1, "drop": 0.1}


def applicable(scene, kind):
    return kind not in ("swap", "drop") or len(scene["objects"]) > 1


def perturbed(scene, kind, rng):
    """The scene with one detail changed (see KINDS); objects are chosen with `rng`."""
    s = copy.deepcopy(scene)
    objs = s["objects"]
    o = objs[rng.integers(len(objs))]
    if kind == "shape":
        o["shape"] = str(rng.choice([x for x in SHAPES if x != o["shape"]]))
    elif kind == "colour":
        o["colour"] = str(rng.choice([x for x in COLOURS if x != o["colour"]]))
    elif kind == "size":
        o["size"] = "large" if o["size"] == "small" else "small"
    elif kind == "position":
        used = {q["row"] * GRID + q["col"] for q in objs}
        cell = int(rng.choice([c for c in range(GRID * GRID) if c not in used]))
        o["row"], o["col"] = cell // GRID, cell % GRID
    elif kind == "swap":
        i, j = rng.choice(len(objs), 2, replace=False)
        a, b = objs[i], objs[j]
        (a["row"], a["col"]), (b["row"], b["col"]) = (b["row"], b["col"]), (a["row"], a["col"])
    elif kind == "drop":
        small = [i for i, q in enumerate(objs) if q["size"] == "small"]
        objs.pop(small[0] if small else len(objs) - 1)
    else:
        raise ValueError(kind)
    return s


def render(scenes, seeds=None):
    """Scene graphs -> uint8 [N,64,64,3], and with `seeds` also their captions (list of 5 per scene)."""
    items = [{"scene": s, "seed": int(seeds[i]) if seeds is not None else 0} for i, s in enumerate(scenes)]
    with tempfile.TemporaryDirectory() as tmp:
        cap_path = os.path.join(tmp, "captions.json")
        cmd = ["node", "--import", "tsx", os.path.join(REPO, "scripts", "render-scenes.ts")]
        res = subprocess.run(cmd + (["--captions", cap_path] if seeds is not None else []),
                             input=json.dumps(items).encode(), capture_output=True, check=True, cwd=REPO)
        images = np.frombuffer(res.stdout, dtype=np.uint8).reshape(len(scenes), C.IMAGE_SIZE, C.IMAGE_SIZE, 3)
        captions = json.load(open(cap_path)) if seeds is not None else None
    return images, captions


def training_negatives(records, count, seed, cache):
    """One hard negative for each of the first `count` records: (images uint8 [count,64,64,3], top-level
    captions [count], kinds [count]); cached as an .npz at `cache`."""
    if os.path.exists(cache):
        z = np.load(cache, allow_pickle=False)
        return z["images"], list(z["captions"]), list(z["kinds"])
    rng = np.random.default_rng(seed)
    scenes, kinds = [], []
    for r in records[:count]:
        options = [k for k in TRAIN_WEIGHTS if applicable(r["scene"], k)]
        w = np.array([TRAIN_WEIGHTS[k] for k in options])
        kind = str(rng.choice(options, p=w / w.sum()))
        scenes.append(perturbed(r["scene"], kind, rng))
        kinds.append(kind)
    images, captions = render(scenes, [r["seed"] for r in records[:count]])
    top = [c[C.LEVELS - 1] for c in captions]
    np.savez(cache, images=images, captions=np.array(top), kinds=np.array(kinds))
    return images, top, kinds
