"""A job over the images of a list, shared by the processes of a launcher.

Class-map inference, pseudo labels and label refinement all run the same way: every rank
takes a strided share of the list (:func:`shard_indices`), writes one file per image
named by :func:`image_id`, and returns a summary; the summaries of all ranks are then
gathered (:func:`gather_summaries`), rank 0 reports them, and the process group is closed
(:func:`end_job`). :func:`report_inference` is that report for :class:`InferenceSummary`.
"""
import json
import os.path as osp
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import torch
from mmengine.dist import all_gather_object, barrier

from .atomic_io import atomic_open

Summary = TypeVar('Summary')


def shard_indices(num_items: int, rank: int, world_size: int) -> List[int]:
    """The indices of ``range(num_items)`` that process ``rank`` handles.

    Strided shards are disjoint, cover everything, and stay balanced when a resumed run
    finds a prefix of the split already done.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f'rank {rank} is not in [0, {world_size})')
    return list(range(rank, num_items, world_size))


def image_id(info: Dict[str, Any]) -> str:
    """The id naming an image's output files: ``img_id``, else the image file's stem."""
    if info.get('img_id'):
        return str(info['img_id'])
    if info.get('img_path'):
        return osp.splitext(osp.basename(info['img_path']))[0]
    raise KeyError(f'data info has neither img_id nor img_path: {sorted(info)}')


class MergeableSummary:
    """A dataclass of counts or id lists that the summaries of several ranks add up to."""

    @classmethod
    def merge(cls, summaries: Sequence[Any]) -> Any:
        """One summary of several (e.g. of every rank): every field added up, in order."""
        out = cls()
        for s in summaries:
            for f in fields(cls):
                setattr(out, f.name, getattr(out, f.name) + getattr(s, f.name))
        return out


@dataclass
class InferenceSummary(MergeableSummary):
    """Ids of the images a run computed, found done, or could not process."""

    done: List[str] = field(default_factory=list)
    existing: List[str] = field(default_factory=list)
    failed: List[str] = field(default_factory=list)

    def counts(self) -> Dict[str, int]:
        return dict(done=len(self.done), existing=len(self.existing), failed=len(self.failed))

    def __str__(self) -> str:
        return (f'{len(self.done)} computed, {len(self.existing)} already done, '
                f'{len(self.failed)} failed')


def gather_summaries(
        summary: Summary, world_size: int,
        merge: Callable[[Sequence[Summary]], Summary]) -> Tuple[Summary, List[Summary]]:
    """The merged summary of every rank and the per-rank ones, on every rank.

    Args:
        summary: This rank's summary (picklable).
        world_size (int): Number of processes; 1 gathers nothing.
        merge: Makes one summary of several (e.g. ``InferenceSummary.merge``).

    Returns:
        tuple: ``(total, per_rank)``, ``per_rank[r]`` being rank ``r``'s summary.
    """
    per_rank = all_gather_object(summary) if world_size > 1 else [summary]
    return merge(per_rank), per_rank


def end_job(world_size: int) -> None:
    """Waits for every rank and closes the process group (nothing for one process)."""
    if world_size > 1:
        barrier()
        torch.distributed.destroy_process_group()


def report_inference(name: str, out_dir: str, num_images: int, total: InferenceSummary,
                     per_rank: Sequence[InferenceSummary],
                     summary_json: Optional[str] = None) -> None:
    """Prints the counts of a finished run (and the failed ids); optionally writes them.

    Args:
        name (str): What ran, the prefix of the printed lines (e.g. ``'infer_cam'``).
        out_dir (str): Where the run wrote its files.
        num_images (int): Images of the whole list.
        total (InferenceSummary): Merged summary of every rank.
        per_rank (Sequence[InferenceSummary]): Each rank's summary.
        summary_json (str, optional): Write the counts, failed ids and each rank's done
            ids here as JSON (atomically).
    """
    failed = sorted(total.failed)
    print(f'[{name}] {out_dir}: {num_images} images, {len(total.done)} done, '
          f'{len(total.existing)} skipped (existing), {len(failed)} failed')
    if failed:
        print(f'[{name}] failed images: {", ".join(failed)}')
    if summary_json:
        report = dict(out_dir=out_dir, images=num_images, **total.counts(), failed_ids=failed,
                      per_rank=[dict(rank=r, **s.counts(), done_ids=s.done)
                                for r, s in enumerate(per_rank)])
        with atomic_open(summary_json, 'w') as f:
            json.dump(report, f, indent=2)
