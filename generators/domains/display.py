"""Display domains: the object shown by a device that can only light fixed elements.

An LED dot matrix, a segmented character display and a phosphor terminal each *draw* the
object anew with their own elements (round LEDs on a pitch, bars on a lattice, glowing
scan lines). Pixelation and JPEG corruptions lose detail of the same picture; these
replace the picture's vocabulary, and the result stays sharp at any strength.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import bounding_boxes, gaussian_blur
from generators.domains.textures import rgb, value_noise

__all__ = ["LED_COLOURS", "crt_terminal", "dot_matrix", "segment_display"]

#: Lit colours of the display domains.
LED_COLOURS = {
    "amber": (1.0, 0.62, 0.12),
    "red": (1.0, 0.16, 0.08),
    "green": (0.35, 1.0, 0.45),
    "blue": (0.35, 0.6, 1.0),
}


def _sample(image: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of ``N x 1 x h x w`` at canvas coordinates ``N x ...`` (pixel
    centres at integer + 0.5)."""
    h, w = image.shape[2:]
    shape = ys.shape
    grid = torch.stack(
        ((xs.reshape(len(xs), -1) / w) * 2 - 1, (ys.reshape(len(ys), -1) / h) * 2 - 1), dim=-1
    ).unsqueeze(1)
    out = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.view(shape)


def dot_matrix(
    canvas: Canvas, strength: float, rng: DomainRandomness, *, colour: str = "amber"
) -> torch.Tensor:
    """A round-LED dot-matrix panel.

    Unlike pixelation, the object is redrawn with round lit elements on a dark panel.

    Strength sets the LED pitch (one image pixel at 0 to four digit pixels at 1). Per
    sample: the grid's phase and each LED's brightness.
    """
    n = len(canvas)
    h, w = canvas.size
    pitch = max(1.0, canvas.unit * lerp(1.0, 4.0, strength))
    phase = rng.uniform((2,), 0.0, pitch)
    rows, cols = math.ceil(h / pitch) + 1, math.ceil(w / pitch) + 1
    jitter = rng.uniform((rows, cols), 0.8, 1.0)
    # LED centres per sample, shifted back by the phase so the panel covers the canvas
    iy = torch.arange(rows, dtype=torch.float32).view(1, -1, 1)
    ix = torch.arange(cols, dtype=torch.float32).view(1, 1, -1)
    cy = (iy + 0.5) * pitch - phase[:, 0].view(-1, 1, 1)
    cx = (ix + 0.5) * pitch - phase[:, 1].view(-1, 1, 1)
    cell_mean = gaussian_blur(canvas.ink, pitch / 3.0)
    level = _sample(cell_mean, cy.expand(n, rows, cols), cx.expand(n, rows, cols))
    lit = torch.sigmoid((level - 0.28) * 30.0) * jitter
    # each canvas pixel's cell and its distance to that cell's centre
    ys = torch.arange(h, dtype=torch.float32).view(1, -1, 1) + 0.5
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, -1) + 0.5
    fy = (ys + phase[:, 0].view(-1, 1, 1)) / pitch
    fx = (xs + phase[:, 1].view(-1, 1, 1)) / pitch
    row = fy.floor().clamp(0, rows - 1).long().expand(n, h, w)
    col = fx.floor().clamp(0, cols - 1).long().expand(n, h, w)
    distance = torch.sqrt((fy - fy.floor() - 0.5) ** 2 + (fx - fx.floor() - 0.5) ** 2) * pitch
    disc = (0.4 * pitch + 0.5 - distance).clamp(0.0, 1.0).unsqueeze(1)
    brightness = torch.gather(lit.view(n, -1), 1, (row * cols + col).view(n, -1)).view(n, 1, h, w)
    led = rgb(LED_COLOURS[colour])
    panel = rgb((0.05, 0.05, 0.06))
    unlit = panel + 0.12 * led
    face = over(unlit, led * (0.25 + 0.75 * brightness), brightness.clamp(0, 1)) * disc
    glow = gaussian_blur(brightness * disc, 0.6 * pitch) * led * 0.45
    return panel * (1 - disc) + face + glow


def _segment_distance(
    ys: torch.Tensor, xs: torch.Tensor, a: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """Distance from pixel centres to segments ``a``-``b`` (each ``N x 2``, (y, x))."""
    ay, ax = a[:, 0].view(-1, 1, 1), a[:, 1].view(-1, 1, 1)
    dy, dx = (b[:, 0] - a[:, 0]).view(-1, 1, 1), (b[:, 1] - a[:, 1]).view(-1, 1, 1)
    length2 = (dy * dy + dx * dx).clamp_min(1e-6)
    t = (((ys - ay) * dy + (xs - ax) * dx) / length2).clamp(0.0, 1.0)
    return torch.sqrt((ys - ay - t * dy) ** 2 + (xs - ax - t * dx) ** 2)


def _slant(ink: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centroid ``(cy, cx)`` and slant ``dx/dy`` of the ink from its second moments (the
    deskewing estimate used for handwriting)."""
    h, w = ink.shape[2:]
    ys = torch.arange(h, dtype=torch.float32).view(1, -1, 1) + 0.5
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, -1) + 0.5
    mass = ink[:, 0].sum(dim=(1, 2)).clamp_min(1e-6)
    cy = (ink[:, 0] * ys).sum(dim=(1, 2)) / mass
    cx = (ink[:, 0] * xs).sum(dim=(1, 2)) / mass
    dy, dx = ys - cy.view(-1, 1, 1), xs - cx.view(-1, 1, 1)
    var_y = (ink[:, 0] * dy * dy).sum(dim=(1, 2)).clamp_min(1e-6)
    cov = (ink[:, 0] * dy * dx).sum(dim=(1, 2))
    return cy, cx, (cov / var_y).clamp(-0.6, 0.6)


def _snap_to_lattice(
    centre_line: torch.Tensor, row: torch.Tensor, col: torch.Tensor, rows: int, cols: int
) -> torch.Tensor:
    """Which lattice bars the object's centre line runs along: ``N x S`` (horizontal bars
    row by row, then vertical bars), 1 for lit.

    Each centre-line pixel snaps to its nearest lattice node (``row``, ``col``: its
    position in cell units); two neighbouring pixels that snap to neighbouring nodes light
    the bar between them, and a diagonal step lights the two bars of the corner nearer the
    pixels. The centre line's path becomes a path on the lattice, so its topology (loops,
    branches, ends) carries over to the glyph.
    """
    n = centre_line.shape[0]
    line = centre_line.numpy()
    frac_r, frac_c = row.numpy(), col.numpy()
    node_r = np.clip(np.rint(frac_r), 0, rows).astype(np.int64)
    node_c = np.clip(np.rint(frac_c), 0, cols).astype(np.int64)
    horizontal = np.zeros((n, rows + 1, cols), dtype=bool)
    vertical = np.zeros((n, rows, cols + 1), dtype=bool)

    def light(i: int, r0: np.ndarray, c0: np.ndarray, r1: np.ndarray, c1: np.ndarray) -> None:
        same_row = (r0 == r1) & (np.abs(c0 - c1) == 1)
        horizontal[i, r0[same_row], np.minimum(c0, c1)[same_row]] = True
        same_col = (c0 == c1) & (np.abs(r0 - r1) == 1)
        vertical[i, np.minimum(r0, r1)[same_col], c0[same_col]] = True

    h, w = line.shape[1:]
    for i in range(n):
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
            a = line[i, : h - dy, max(0, -dx) : w - max(0, dx)]
            b = line[i, dy:, max(0, dx) : w - max(0, -dx) if dx < 0 else w]
            ys, xs = np.nonzero(a & b)
            xs = xs + max(0, -dx)
            r0, c0 = node_r[i, ys, xs], node_c[i, ys, xs]
            r1, c1 = node_r[i, ys + dy, xs + dx], node_c[i, ys + dy, xs + dx]
            light(i, r0, c0, r1, c1)
            corner = (np.abs(r0 - r1) == 1) & (np.abs(c0 - c1) == 1)
            if corner.any():
                mid_r = (frac_r[i, ys, xs] + frac_r[i, ys + dy, xs + dx])[corner] / 2
                mid_c = (frac_c[i, ys, xs] + frac_c[i, ys + dy, xs + dx])[corner] / 2
                a_r, a_c, b_r, b_c = r0[corner], c0[corner], r1[corner], c1[corner]
                # corner (a_r, b_c) or (b_r, a_c): the one nearer the step
                first = (mid_r - a_r) ** 2 + (mid_c - b_c) ** 2 <= (mid_r - b_r) ** 2 + (
                    mid_c - a_c
                ) ** 2
                k_r = np.where(first, a_r, b_r)
                k_c = np.where(first, b_c, a_c)
                light(i, a_r, a_c, k_r, k_c)
                light(i, k_r, k_c, b_r, b_c)
    flat = np.concatenate((horizontal.reshape(n, -1), vertical.reshape(n, -1)), axis=1)
    return torch.from_numpy(flat.astype(np.float32))


def segment_display(
    canvas: Canvas,
    strength: float,
    rng: DomainRandomness,
    *,
    style: str = "led",
    colour: str = "red",
) -> torch.Tensor:
    """A segmented character display: bars on a lattice, as in 7-segment parts.

    Unlike any corruption, the letterform is replaced by a fixed vocabulary of bars.

    The lattice is fitted to the object (its box, and its slant as the display's italic),
    and the object's centre line, snapped to the lattice's nodes, lights the bars it runs
    along. Strength sets the lattice: 3 x 5 cells (close to the original shape) at 0,
    1 x 2 cells (a seven-segment glyph) at 1; narrow objects sit on the lattice's right
    bars, as a seven-segment "1" does. ``style`` ``led``: lit
    bars on a dark panel; ``lcd``: dark bars on grey-green glass. Per sample: the glass
    mottling (lcd).
    """
    from generators.domains.stroke_geometry import skeleton

    n = len(canvas)
    h, w = canvas.size
    u = canvas.unit
    cols = max(1, round(lerp(3.0, 1.0, strength)))
    rows = max(2, round(lerp(5.0, 2.0, strength)))
    _, _, slant = _slant(canvas.ink)
    ys = torch.arange(h, dtype=torch.float32).view(1, -1, 1) + 0.5
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, -1) + 0.5
    box = bounding_boxes(canvas.ink, threshold=0.4)
    top, bottom = box[:, 0], box[:, 1]
    mid_y = ((top + bottom) / 2).view(-1, 1, 1)
    # shear the canvas so the object stands upright; the lattice lives in these coordinates
    upright = (xs - slant.view(-1, 1, 1) * (ys - mid_y)).expand(n, h, w)
    inside = canvas.ink[:, 0] > 0.4
    big = float(2 * (h + w))
    left = torch.where(inside, upright, big).amin(dim=(1, 2))
    right = torch.where(inside, upright, -big).amax(dim=(1, 2))
    empty = ~inside.any(dim=(1, 2))
    left = torch.where(empty, torch.zeros(n), left)
    right = torch.where(empty, torch.full((n,), float(w)), right)
    stroke = 2.0 * u  # about half a digit stroke: the lattice runs along stroke centres
    top, bottom, left, right = top + stroke, bottom - stroke, left + stroke, right - stroke
    height = (bottom - top).clamp_min(6.0 * u)
    width = right - left
    wanted = (0.5 * height).clamp_min(3.0 * u)
    narrow = width < 0.4 * height
    centre = (left + right) / 2
    left = torch.where(
        narrow, centre - wanted, torch.where(width < wanted, centre - wanted / 2, left)
    )
    width = torch.where(width < wanted, wanted, width)
    cell_h, cell_w = height / rows, width / cols
    node_y = top.view(-1, 1) + cell_h.view(-1, 1) * torch.arange(rows + 1).view(1, -1)
    node_x = left.view(-1, 1) + cell_w.view(-1, 1) * torch.arange(cols + 1).view(1, -1)
    segments = [((r, c), (r, c + 1)) for r in range(rows + 1) for c in range(cols)]
    segments += [((r, c), (r + 1, c)) for r in range(rows) for c in range(cols + 1)]
    centre_line = skeleton(canvas.ink, threshold=0.4)[:, 0] > 0
    lit = _snap_to_lattice(
        centre_line,
        ((ys - top.view(-1, 1, 1)) / cell_h.view(-1, 1, 1)).expand(n, h, w),
        ((upright - left.view(-1, 1, 1)) / cell_w.view(-1, 1, 1)),
        rows,
        cols,
    )
    gap = 0.14 * torch.minimum(cell_h, cell_w)
    thickness = (0.22 * torch.minimum(cell_h, cell_w)).clamp(1.4 * u, 2.6 * u).view(-1, 1, 1)
    lit_map = torch.zeros(n, h, w)
    unlit_map = torch.zeros(n, h, w)
    for s, ((r0, c0), (r1, c1)) in enumerate(segments):
        a = torch.stack((node_y[:, r0], node_x[:, c0]), 1)
        b = torch.stack((node_y[:, r1], node_x[:, c1]), 1)
        # the bar's ends pulled in by the gap, so neighbouring bars do not touch
        step = (b - a) / (b - a).norm(dim=1, keepdim=True).clamp_min(1e-6) * gap.view(-1, 1)
        distance = _segment_distance(ys, upright, a + step, b - step)
        bar = (thickness / 2 + 0.5 - distance).clamp(0.0, 1.0)
        on = lit[:, s].view(-1, 1, 1)
        lit_map = torch.maximum(lit_map, bar * on)
        unlit_map = torch.maximum(unlit_map, bar * (1 - on))
    lit_map, unlit_map = lit_map.unsqueeze(1), unlit_map.unsqueeze(1)
    if style == "lcd":
        glass = rgb((0.63, 0.68, 0.56)) * (0.94 + 0.12 * value_noise(rng, (h, w), 10 * u))
        out = over(glass, rgb((0.58, 0.63, 0.52)), unlit_map * 0.6)
        shadow = torch.roll(lit_map, shifts=(max(1, round(0.6 * u)),) * 2, dims=(2, 3))
        out = over(out, rgb((0.5, 0.55, 0.46)), shadow * 0.5)
        out = over(out, rgb((0.1, 0.12, 0.1)), lit_map)
    else:
        led = rgb(LED_COLOURS[colour])
        panel = rgb((0.05, 0.05, 0.06))
        out = over(panel, panel + 0.12 * led, unlit_map)
        out = over(out, led, lit_map) + gaussian_blur(lit_map, 1.2 * u) * led * 0.35
    return out


def crt_terminal(
    canvas: Canvas, strength: float, rng: DomainRandomness, *, colour: str = "green"
) -> torch.Tensor:
    """A monochrome phosphor terminal: the object traced by a glowing beam on curved glass.

    Unlike stripe or blur corruptions, the object is emitted light in scan lines inside a display.

    Strength sets the screen curvature, the scan-line depth and the glow. Per sample: the
    scan-line phase and the glass's faint mottling.
    """
    n = len(canvas)
    h, w = canvas.size
    u = canvas.unit
    k = lerp(0.0, 0.2, strength)
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    r2 = gy**2 + gx**2
    # barrel: each screen point shows the picture point further out
    grid = torch.stack((gx * (1 + k * r2), gy * (1 + k * r2)), dim=-1).unsqueeze(0)
    grid = grid.expand(n, h, w, 2)
    beam = F.grid_sample(
        canvas.ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    inside = ((grid.abs() <= 1).all(dim=-1)).float().unsqueeze(1)
    beam = gaussian_blur(beam, 0.4 * u)
    period = 2.0 * canvas.factor  # two image rows per scan line, so it survives averaging
    phase = rng.uniform((1, 1, 1), 0.0, period)
    rows = torch.arange(h, dtype=torch.float32).view(1, 1, -1, 1)
    scan = 0.5 + 0.5 * torch.cos(2 * math.pi * (rows + phase) / period)
    beam = beam * (1 - lerp(0.0, 0.75, strength) * (1 - scan))
    phosphor = rgb(LED_COLOURS[colour])
    glass = rgb((0.03, 0.06, 0.04)) * (0.8 + 0.4 * value_noise(rng, (h, w), 12 * u))
    glow = gaussian_blur(beam, 1.8 * u) * lerp(0.0, 0.8, strength)
    vignette = (1 - 0.45 * r2.view(1, 1, h, w) * strength).clamp(0.0, 1.0)
    screen = (glass + phosphor * (beam + glow)) * vignette * inside
    # the tube's rounded face inside a plastic bezel
    inset = lerp(0.0, 2.2, strength) * u
    corner = 4.0 * u
    qy = (torch.arange(h, dtype=torch.float32) + 0.5 - h / 2).abs() - (h / 2 - inset - corner)
    qx = (torch.arange(w, dtype=torch.float32) + 0.5 - w / 2).abs() - (w / 2 - inset - corner)
    outside = torch.sqrt(qy.clamp_min(0).view(-1, 1) ** 2 + qx.clamp_min(0).view(1, -1) ** 2)
    face = (corner + 0.5 - outside).clamp(0.0, 1.0).view(1, 1, h, w)
    bezel = rgb((0.42, 0.4, 0.36)) * (0.9 + 0.2 * value_noise(rng, (h, w), 3 * u))
    return over(bezel, screen, face)
