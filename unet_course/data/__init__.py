"""The data, one module per idea (read them next to lesson 00):

- ``synthetic``: touching cells drawn by code, the course's default data set (any size, no download);
- ``isbi2012``: the paper's EM data set (Sec. 4), downloaded once and checked against SHA-256 sums;
- ``mirror``: mirror extrapolation of Fig. 2, shared by the tile sampler and overlap-tile inference;
- ``tiles``: random training tiles (mirror-extended input, target and weight map in the valid
  output window) and the training targets of Sec. 3;
- ``files``: reading and writing a researcher's own images (PNG, TIFF) for the commands;
- ``labels``: the ONE rule that reads a label image (binary mask of any two values, the larger
  = cell; instance ids, 0 = background), used by ``train``, ``evaluate`` and the lessons.

Everything public is re-exported here: ``from unet_course.data import TileDataset``.

Conventions (CONTRIBUTING.md): images float32 in [0, 1], shape (H, W); instances int,
0 = background; semantic targets int64, 1 = cell, 0 = background / membrane; ISBI labels uint8,
255 = cell interior, 0 = membrane.
"""
from .files import *  # noqa: F401,F403
from .isbi2012 import *  # noqa: F401,F403
from .isbi2012 import USER_CACHE_DIR  # noqa: F401
from .labels import *  # noqa: F401,F403
from .mirror import *  # noqa: F401,F403
from .synthetic import *  # noqa: F401,F403
from .tiles import *  # noqa: F401,F403
from . import files, isbi2012, labels, mirror, synthetic, tiles

__all__ = (files.__all__ + isbi2012.__all__ + labels.__all__ + mirror.__all__
           + synthetic.__all__ + tiles.__all__)
