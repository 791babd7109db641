"""Sparse pairwise affinities of one image's feature grid, the random walk's input.

Any model that scores pairs of grid positions hands its result on as an
:class:`AffinityGraph`: AffinityNet (PSA) scores pairs by feature distance; a boundary
model (IRN) would score the same pairs by the strongest boundary between them. The random
walk (:mod:`.random_walk`) only sees the graph.
"""
from dataclasses import dataclass

import torch


@dataclass
class AffinityGraph:
    """Affinities in [0, 1] of position pairs of an ``height x width`` grid.

    Each unordered pair is stored once; the affinity is symmetric and every position has
    affinity 1 with itself (not stored).

    Args:
        height (int): Grid rows.
        width (int): Grid columns.
        index_from (torch.Tensor): int64 (P,) flat (row-major) index of one end.
        index_to (torch.Tensor): int64 (P,) flat index of the other end.
        weight (torch.Tensor): float (P,) affinities in [0, 1].
    """

    height: int
    width: int
    index_from: torch.Tensor
    index_to: torch.Tensor
    weight: torch.Tensor

    def __post_init__(self) -> None:
        n = self.num_nodes
        if not (self.index_from.shape == self.index_to.shape == self.weight.shape
                and self.weight.dim() == 1):
            raise ValueError('index_from, index_to and weight must be 1-D of one length, got '
                             f'{tuple(self.index_from.shape)}, {tuple(self.index_to.shape)}, '
                             f'{tuple(self.weight.shape)}')
        if self.weight.numel():
            lo = int(torch.minimum(self.index_from.min(), self.index_to.min()))
            hi = int(torch.maximum(self.index_from.max(), self.index_to.max()))
            if lo < 0 or hi >= n:
                raise ValueError(f'pair indices {lo}..{hi} outside the {self.height}x'
                                 f'{self.width} grid')

    @property
    def num_nodes(self) -> int:
        return int(self.height) * int(self.width)

    def to(self, device: torch.device) -> 'AffinityGraph':
        return AffinityGraph(self.height, self.width, self.index_from.to(device),
                             self.index_to.to(device), self.weight.to(device))

    def sparse_matrix(self, beta: float = 1.0) -> torch.Tensor:
        """The symmetric affinity matrix ``A ** beta`` with ones on the diagonal.

        Args:
            beta (float): Exponent applied to the affinities (PSA: 8), which sharpens them.

        Returns:
            torch.Tensor: sparse COO float32 (N, N), N = height * width.
        """
        n = self.num_nodes
        diag = torch.arange(n, device=self.weight.device)
        w = self.weight.float().clamp(0, 1).pow(beta)
        rows = torch.cat([self.index_from, self.index_to, diag])
        cols = torch.cat([self.index_to, self.index_from, diag])
        vals = torch.cat([w, w, torch.ones(n, device=w.device)])
        # Indices were checked in __post_init__.
        return torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n, n),
                                       check_invariants=False).coalesce()
