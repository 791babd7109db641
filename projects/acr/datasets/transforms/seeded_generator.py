"""Random generators of the transforms: private and seeded, or drawn from numpy's stream."""
from typing import Optional

import numpy as np


class SeededGenerator:
    """Hands out the generator a random transform draws from.

    With a seed the transform owns one generator for its lifetime (reproducible in
    tests). Without one, each call makes a generator seeded from numpy's global stream,
    which mmengine seeds per worker and per run, so the transform follows the run's seed.

    Args:
        seed (int, optional): Seed of a private generator.
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        self.rng = None if seed is None else np.random.default_rng(seed)

    def __call__(self) -> np.random.Generator:
        if self.rng is not None:
            return self.rng
        return np.random.default_rng(np.random.randint(2**31))
