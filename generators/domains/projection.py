"""Projection domains: the picture itself, seen through another geometry.

The object is left as it is, but the picture becomes a thing in a scene or is seen
through another projection: a card lying on a table at an angle, a fisheye's circular
image, a label wrapped round a can. The geometric corruptions (shear, rotate, scale,
translate, elastic) are affine or local warps of the same flat frame; these are
projective or curved views with visible scene context (the table, the lens's rim, the
can's shading and rims), and no detail is lost or blurred.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from generators.domains.canvas import Canvas, lerp, over
from generators.domains.randomness import DomainRandomness
from generators.domains.stroke_geometry import gaussian_blur
from generators.domains.textures import brushed_metal, rgb, wood

__all__ = ["can_label", "fisheye_lens", "tabletop_card"]

# The card's size relative to the picture printed on it.
_BORDER = 1.07


def _pixel_grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates normalised to [-1, 1] (grid_sample's convention)."""
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w * 2 - 1
    return torch.meshgrid(ys, xs, indexing="ij")


def _homographies(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``N x 3 x 3`` maps taking each sample's 4 ``target`` points (x, y) to its
    ``source`` points: the direct linear transform with h33 = 1."""
    n = source.shape[0]
    rows = []
    rhs = []
    for k in range(4):
        x, y = target[:, k, 0], target[:, k, 1]
        u, v = source[:, k, 0], source[:, k, 1]
        zero, one = torch.zeros(n), torch.ones(n)
        rows.append(torch.stack((x, y, one, zero, zero, zero, -u * x, -u * y), 1))
        rows.append(torch.stack((zero, zero, zero, x, y, one, -v * x, -v * y), 1))
        rhs += [u, v]
    system = torch.stack(rows, 1).to(torch.float64)
    solution = torch.linalg.solve(system, torch.stack(rhs, 1).to(torch.float64))
    return torch.cat((solution, torch.ones(n, 1, dtype=torch.float64)), 1).view(n, 3, 3).float()


def tabletop_card(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """The picture printed on a white-bordered card lying on a wooden table, photographed
    at an angle: its far edge foreshortened, its shadow on the wood.

    Unlike affine warps, a projective view of a card in a scene, its border and shadow shown.

    Strength sets the tilt away from the camera (0 to 55 degrees) and the turn on the
    table. Per sample: the turn's direction, the card's placement, the table's grain.
    """
    n = len(canvas)
    u = canvas.unit
    h, w = canvas.size
    tilt = math.radians(lerp(0.0, 55.0, strength))
    turn = rng.uniform((), -1.0, 1.0) * math.radians(lerp(0.0, 20.0, strength))
    drift = rng.uniform((2,), -0.06, 0.06) * strength
    # the card's corners (x, y) in [-1, 1]; a pinhole at distance 3 sees the tilted card
    # with its top edge further away, hence narrower
    half = lerp(1.0, 0.94, strength)
    corners = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    depth = 3.0 + corners[:, 1] * -math.sin(tilt) * half
    projected_y = corners[:, 1] * math.cos(tilt) * half * 3.0 / depth
    projected_x = corners[:, 0] * half * 3.0 / depth
    cos_t, sin_t = torch.cos(turn).view(-1, 1), torch.sin(turn).view(-1, 1)
    px = projected_x.view(1, 4) * cos_t - projected_y.view(1, 4) * sin_t + drift[:, :1]
    py = projected_x.view(1, 4) * sin_t + projected_y.view(1, 4) * cos_t + drift[:, 1:]
    # the tilted card's foreshortened height is re-centred in the frame
    py = py - (py.amax(dim=1, keepdim=True) + py.amin(dim=1, keepdim=True)) / 2 + drift[:, 1:]
    target = torch.stack((px, py), dim=-1)
    # the picture fills the card but for a thin white border
    card = corners.view(1, 4, 2).expand(n, 4, 2) * _BORDER
    maps = _homographies(card, target)
    gy, gx = _pixel_grid(h, w)
    points = torch.stack((gx, gy, torch.ones_like(gx)), dim=-1).view(1, -1, 3)
    mapped = points @ maps.transpose(1, 2)
    source = (mapped[..., :2] / mapped[..., 2:3]).view(n, h, w, 2)
    picture = F.grid_sample(
        canvas.colour, source, mode="bilinear", padding_mode="border", align_corners=False
    )
    inside_card = (source.abs() <= _BORDER).all(dim=-1).float().unsqueeze(1)
    inside_picture = (source.abs() <= 1.0).all(dim=-1).float().unsqueeze(1)
    card_face = over(rgb((0.95, 0.95, 0.93)), picture, inside_picture)
    table = wood(rng, (h, w), u, (0.55, 0.38, 0.24))
    shadow = gaussian_blur(
        torch.roll(inside_card, shifts=(round(1.2 * u), round(0.8 * u)), dims=(2, 3)), 1.2 * u
    )
    table = table * (1 - 0.45 * shadow)
    return over(table, card_face, inside_card)


def fisheye_lens(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """The picture through a circular fisheye: an equidistant projection that swells the
    centre and bends straight lines, inside the lens's round image and dark housing.

    Unlike zoom blur, a sharp change of projection inside the lens's circular image.

    Strength sets the field of view (0 to 140 degrees). Per sample: the small offset of the
    optical axis.
    """
    n = len(canvas)
    h, w = canvas.size
    half_fov = math.radians(lerp(1.0, 70.0, strength))
    axis = rng.uniform((2,), -0.05, 0.05) * strength
    gy, gx = _pixel_grid(h, w)
    gy = gy.unsqueeze(0) - axis[:, 1].view(-1, 1, 1)
    gx = gx.unsqueeze(0) - axis[:, 0].view(-1, 1, 1)
    radius = torch.sqrt(gy * gy + gx * gx).clamp_min(1e-6)
    # equidistant fisheye: image radius proportional to the ray's angle; the flat picture
    # is where a pinhole with the same field would have put it
    angle = (radius * half_fov).clamp(max=math.radians(89.0))
    scale = torch.tan(angle) / math.tan(half_fov) / radius
    source = torch.stack((gx * scale, gy * scale), dim=-1)
    picture = F.grid_sample(
        canvas.colour, source, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    rim = ((1.0 - radius) * min(h, w) / 2 + 0.5).clamp(0.0, 1.0).unsqueeze(1)
    housing = rgb((0.22, 0.22, 0.24)) * (1 - 0.5 * (radius - 1).clamp(0, 0.5).unsqueeze(1))
    glass_edge = ((0.06 - (radius - 0.97).abs()) / 0.06).clamp(0, 1).unsqueeze(1) * strength
    out = over(housing.expand(n, 3, h, w), picture, rim)
    return over(out, rgb((0.55, 0.6, 0.7)), glass_edge * 0.5)


def can_label(canvas: Canvas, strength: float, rng: DomainRandomness) -> torch.Tensor:
    """The picture as a label wrapped round a drinks can: squeezed toward the can's sides,
    shaded by its curvature with a vertical highlight, its top and bottom edges bowed as
    seen from a little above, with the metal rims showing.

    Unlike any corruption, the frame is wrapped onto a lit cylinder with its rims.

    Strength sets how much of the can's circumference the picture wraps (0 to 160
    degrees). Per sample: where the highlight falls.
    """
    n = len(canvas)
    u = canvas.unit
    h, w = canvas.size
    wrap = math.radians(lerp(0.5, 160.0, strength)) / 2
    gy, gx = _pixel_grid(h, w)
    gy, gx = gy.unsqueeze(0).expand(n, h, w), gx.unsqueeze(0).expand(n, h, w)
    # the label spans the can's silhouette; x on screen is sin(angle round the can)
    around = torch.asin((gx * math.sin(wrap)).clamp(-1, 1))
    sx = around / wrap
    bow = lerp(0.0, 0.25, strength) * torch.cos(around)
    label_height = lerp(1.0, 0.72, strength)
    sy = (gy - bow) / label_height
    picture = F.grid_sample(
        canvas.colour,
        torch.stack((sx, sy), -1),
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )
    on_label = ((sy.abs() <= 1.0).float() * (sx.abs() <= 1.0).float()).unsqueeze(1)
    light = rng.uniform((1, 1), -0.5, -0.1) * wrap
    facing = torch.cos(around - light).unsqueeze(1)
    shade = lerp(1.0, 0.55, strength) + lerp(0.0, 0.45, strength) * facing
    highlight = torch.exp(-(((around - light) / 0.12) ** 2)).unsqueeze(1) * lerp(
        0.0, 0.35, strength
    )
    metal = brushed_metal(rng, (h, w), u) * shade
    out = over(metal, picture * shade, on_label) + highlight
    return out.clamp(0.0, 1.0)
