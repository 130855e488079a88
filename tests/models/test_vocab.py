"""The pipeline's scene vocabulary (models/uae/vocab.py) is the TypeScript Shapes world's
(src/shapes/scene.ts), in the same order, and every word of it is a token of the shipped tokenizer."""
import json
import re
from pathlib import Path

from uae import vocab

ROOT = Path(__file__).resolve().parents[2]
SCENE_TS = (ROOT / "src" / "shapes" / "scene.ts").read_text()


def ts_list(name):
    """The string items of `export const NAME = [...] as const;` in scene.ts, in order."""
    m = re.search(rf"export const {name} = \[([^\]]*)\] as const;", SCENE_TS)
    assert m, f"{name} not found in src/shapes/scene.ts"
    return re.findall(r"'([^']*)'", m.group(1))


def test_python_vocabulary_equals_the_typescript_one():
    assert vocab.SHAPES == ts_list("SHAPES")
    assert vocab.COLOURS == ts_list("COLOURS")
    assert vocab.SIZES == ts_list("SIZES")
    assert vocab.BACKGROUNDS == ts_list("BACKGROUNDS")
    assert vocab.GRID == int(re.search(r"export const GRID = (\d+);", SCENE_TS).group(1))


def test_every_scene_word_is_a_token():
    tok = json.loads((ROOT / "public" / "tokenizers" / "shapes" / "tokenizer.json").read_text())
    words = set(tok["model"]["vocab"])
    assert set(vocab.SHAPES + vocab.COLOURS + vocab.SIZES) <= words
