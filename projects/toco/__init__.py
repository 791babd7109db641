"""ToCo (Ru et al., CVPR 2023, token contrast) on the ACR toolkit.

Importing the package registers its components in mmsegmentation's registries; it builds
on :mod:`projects.acr` (backbone wrapper, datasets, hooks, ACR loss), imported first.
"""
import projects.acr  # noqa: F401  (the components ToCo builds on)

from . import datasets, engine, models  # noqa: F401,E402
