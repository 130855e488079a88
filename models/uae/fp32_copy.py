"""A float32 copy of a bundle, for measuring what the fp16 weight storage costs (bench/README.md, "fp16-stored weights").

Every `<name>__fp16` initializer that feeds a Cast to float32 becomes a float32 initializer `<name>` and the Cast goes;
the graphs are otherwise the same. The manifest's sizes and hashes are refreshed. The copy is about twice the size.

Usage (from models/): /usr/bin/python3 -m uae.fp32_copy SRC_BUNDLE DST_DIR
then e.g. `npx uae bench --bundle DST_DIR --stages load` against the same on SRC_BUNDLE.
"""
import argparse
import json
import os
import shutil

import numpy as np


def unfold_fp16(path):
    """Rewrites the ONNX file at `path` with its fp16-stored weights as float32 initializers -> casts removed."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    casts = [n for n in g.node if n.op_type == "Cast" and n.input[0] in inits and n.input[0].endswith("__fp16")]
    for n in casts:
        arr = numpy_helper.to_array(inits[n.input[0]]).astype(np.float32)
        g.initializer.remove(inits[n.input[0]])
        g.initializer.append(numpy_helper.from_array(arr, n.output[0]))
        g.node.remove(n)
    onnx.save(m, path)
    return len(casts)


def main():
    from .export import file_entry
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    a = ap.parse_args()
    shutil.copytree(a.src, a.dst)
    mpath = os.path.join(a.dst, "manifest.json")
    m = json.load(open(mpath))
    for f in m["files"]:
        if f["path"].endswith(".onnx"):
            print(f["path"], unfold_fp16(os.path.join(a.dst, f["path"])), "casts")
    m["files"] = [file_entry(a.dst, f["path"]) for f in m["files"]]
    with open(mpath, "w") as fh:
        json.dump(m, fh, indent=1)


if __name__ == "__main__":
    main()
