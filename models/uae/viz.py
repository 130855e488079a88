"""Development views: image grids as PNG (original | reconstruction rows) to look at."""
import numpy as np


def save_grid(path, rows, scale=2):
    """rows: list of uint8 arrays [N,H,W,3] (same N) -> one PNG, a row per array."""
    import zlib
    import struct
    n, h, w, _ = rows[0].shape
    grid = np.zeros((len(rows) * (h + 2), n * (w + 2), 3), np.uint8) + 255
    for r, arr in enumerate(rows):
        for i in range(n):
            grid[r * (h + 2):r * (h + 2) + h, i * (w + 2):i * (w + 2) + w] = arr[i]
    grid = grid.repeat(scale, 0).repeat(scale, 1)
    raw = b"".join(b"\x00" + grid[y].tobytes() for y in range(grid.shape[0]))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", grid.shape[1], grid.shape[0], 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)
