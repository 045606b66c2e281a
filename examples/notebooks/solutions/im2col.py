import numpy as np


def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1) -> np.ndarray:
    """(N, C, H, W) -> (N, C·kh·kw, OH·OW): column p holds the patch under output position p."""
    n, c = x.shape[:2]
    # every kh × kw window, as a view (no copy): (N, C, H - kh + 1, W - kw + 1, kh, kw)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    oh, ow = windows.shape[2:4]
    # rows (c, i, j) of the patch, columns the output positions: the one copy happens here
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)
