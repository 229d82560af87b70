from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from supervisor_testing.errors import InvalidInputError
from supervisor_testing.report import image_grid


def test_tiles_land_where_expected():
    images = torch.zeros(5, 1, 4, 4, dtype=torch.uint8)
    images[3] = 255  # fourth tile: second row, first column with three columns
    grid = np.asarray(image_grid(images, columns=3, scale=2, padding=1))
    assert grid.shape == (2 * (8 + 1) + 1, 3 * (8 + 1) + 1, 3)
    assert (grid[10:18, 1:9] == 255).all()  # tile 3
    assert (grid[1:9, 1:9] == 0).all()  # tile 0 stays black


def test_rgb_colours_survive():
    images = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    images[0, 0] = 200  # red channel
    grid = np.asarray(image_grid(images, scale=1, padding=0))
    assert grid[0, 0].tolist() == [200, 0, 0]


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="uint8"):
        image_grid(torch.zeros(2, 1, 4, 4))
    with pytest.raises(InvalidInputError, match="captions"):
        image_grid(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), captions=["a"])


def test_captions_make_room_under_tiles():
    images = torch.zeros(2, 1, 4, 4, dtype=torch.uint8)
    plain = image_grid(images, scale=1)
    captioned = image_grid(images, scale=1, captions=["a", "b"])
    assert isinstance(captioned, Image.Image)
    assert captioned.height > plain.height
