"""The training animation of `examples/mnist_mlp.py --animate training.gif`.

The training images are projected onto their first two principal components (a plane in pixel
space). Every K optimizer steps, `DecisionRegions` (a `tinygrad_edu.train.Callback`) classifies
a grid of points of that plane, each point back-projected to an image (mean + coords @
components) and the whole grid scored in batched forward passes (`train.predict`), and draws
the predicted class as coloured regions, with a sample of the training images on top in the
colour of their label.
`save` writes the frames as a looping GIF, `save_frame` one of them as a PNG.

Most images lie off the plane, so a dot can sit in a region of another class and still be
classified correctly: the regions are what the network makes of the plane, the dots where the
images' shadows fall on it. Needs matplotlib and Pillow (the `examples` extra).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from mnist_plots import CLASSES, principal_plane
from PIL import Image

from tinygrad_edu.core import Tensor
from tinygrad_edu.fileio import atomic_write
from tinygrad_edu.nn.module import Module
from tinygrad_edu.train import Callback, Loss, evaluate, predict

FRAMES = 100  # about this many frames when no interval is given
# NOTE: rows per forward pass when scoring: a convolution's im2col of 16,384 grid images at once
# takes ~1 GB and most of a frame's time in page faults.
BATCH = 2048
FRAME_MS, LAST_FRAME_MS = 100, 2000  # the last frame is held, so the result can be read


def default_every(steps: int, frames: int = FRAMES) -> int:
    """The interval that makes about `frames` frames of a run of `steps` optimizer steps."""
    return max(1, steps // frames)


class DecisionRegions(Callback):
    """Records a frame before training and after every `every`-th optimizer step.

    `x` (N, D) are the training rows as `inputs` takes them, `y` their labels. The loss and
    accuracy of each frame are measured with `loss_fn` on a fixed sample of at most `scored`
    training rows (in eval mode; the model is put back in training mode after), `points` of them
    are drawn, and the plane is classified on a `grid` × `grid` lattice spanning them.
    """

    def __init__(
        self,
        model: Module,
        loss_fn: Loss,
        x: np.ndarray,
        y: np.ndarray,
        inputs: Callable[[np.ndarray], Tensor] = Tensor,
        every: int = 10,
        title: str = "",
        grid: int = 128,
        points: int = 1000,
        scored: int = 10_000,
        seed: int = 0,
    ) -> None:
        if every < 1 or grid < 2:
            raise ValueError(
                f"DecisionRegions: every must be >= 1 and grid >= 2, got every {every}, grid {grid}"
            )
        self.model, self.loss_fn, self.inputs, self.every, self.title = model, loss_fn, inputs, every, title
        self.grid = grid
        pixels = np.asarray(inputs(x).data)  # the network's own scale (uint8 rows are scaled to [0, 1])
        self.pca = principal_plane(pixels)
        sample = np.random.default_rng(seed).permutation(len(x))[:scored]
        self.x, self.y = x[sample], y[sample]
        coords = self.pca.project(pixels[sample[:points]])
        lo, hi = np.percentile(coords, [0.5, 99.5], axis=0)
        lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)
        u, v = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
        self.plane = np.stack([u.ravel(), v.ravel()], axis=1)  # row-major: v is the image's row
        self.grid_pixels = self.pca.back_project(self.plane).astype(pixels.dtype)
        self.figure, self.regions, self.heading, self.dots = self._draw(
            coords, y[sample[:points]], lo, hi, grid
        )
        self.background = self._background()
        self.frames: list[Image.Image] = []
        self.step = 0
        self.capture(0)

    # ---- the Callback --------------------------------------------------------------------------
    def on_batch(self, epoch: int, loss: float, accuracy: float) -> None:
        self.step += 1
        if self.step % self.every == 0:
            self.capture(epoch)

    def predict_plane(self) -> np.ndarray:
        """The class the model predicts at each grid point (grid, grid), in eval mode."""
        z = predict(self.model, self.grid_pixels, batch_size=BATCH, inputs=self.inputs)
        return z.argmax(axis=1).reshape(self.grid, self.grid)

    def capture(self, epoch: int) -> None:
        """Score the model, classify the plane and render one frame (the model's mode is kept)."""
        training = self.model.training
        loss, accuracy, _ = evaluate(self.model, self.loss_fn, self.x, self.y, BATCH, self.inputs)
        classes = self.predict_plane()
        self.model.train(training)
        self.regions.set_data(classes)
        when = f"iteration {self.step:,}" + (f" (epoch {epoch})" if epoch and epoch != self.step else "")
        scores = f"loss {loss:.3f}, accuracy {accuracy:.1%} on {len(self.y):,} training images"
        self.heading.set_text(f"{self.title}\n{when}: {scores}")
        canvas = self.figure.canvas
        canvas.restore_region(self.background)
        for artist in (self.regions, *self.dots, self.heading):
            self.figure.draw_artist(artist)
        rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
        self.frames.append(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=255))

    # ---- output --------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """The frames as a looping GIF at `path` (written atomically); the last frame is held."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        durations = [FRAME_MS] * (len(self.frames) - 1) + [LAST_FRAME_MS]
        with atomic_write(path) as f:
            self.frames[0].save(
                f, format="GIF", save_all=True, append_images=self.frames[1:], duration=durations, loop=0
            )
        return path

    def save_frame(self, path: str | os.PathLike, index: int = -1) -> Path:
        """Frame `index` (default: the last) as a PNG at `path` (written atomically)."""
        path = Path(path)
        with atomic_write(path) as f:
            self.frames[index].convert("RGB").save(f, format="PNG", optimize=True)
        return path

    def _draw(self, coords: np.ndarray, labels: np.ndarray, lo: np.ndarray, hi: np.ndarray, grid: int):
        """The figure, drawn once: every frame only changes the regions' colours and the title."""
        fig = Figure(figsize=(7.2, 6.0), dpi=90, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        colors = [f"C{k}" for k in range(CLASSES)]
        regions = ax.imshow(
            np.zeros((grid, grid)),
            cmap=ListedColormap(colors),
            vmin=-0.5,
            vmax=CLASSES - 0.5,
            origin="lower",
            extent=(lo[0], hi[0], lo[1], hi[1]),
            aspect="auto",
            interpolation="nearest",
            alpha=0.3,
        )
        for k in range(CLASSES):
            at = coords[labels == k]
            ax.scatter(*at.T, s=7, color=colors[k], edgecolors="black", linewidths=0.2, label=str(k))
        ax.legend(title="label", loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2)
        share = self.pca.explained
        ax.set(
            xlim=(lo[0], hi[0]),
            ylim=(lo[1], hi[1]),
            xlabel=f"principal component 1 ({share[0]:.1%} of the pixel variance)",
            ylabel=f"principal component 2 ({share[1]:.1%})",
        )
        heading = ax.set_title("\n", fontsize=10)  # two lines, for the layout
        return fig, regions, heading, ax.collections

    def _background(self):
        """Lay the figure out and render what never changes (axes, ticks, labels, legend) once.

        NOTE: a full redraw takes ~0.4 s, most of it laying out and rendering text; each frame
        instead pastes this background and draws only the regions, the dots over them, and the title.
        """
        canvas = self.figure.canvas
        canvas.draw()
        self.figure.set_layout_engine("none")  # keep the positions computed for the full title
        for artist in (self.regions, *self.dots, self.heading):
            artist.set_animated(True)
        canvas.draw()
        return canvas.copy_from_bbox(self.figure.bbox)
