import json
from dataclasses import dataclass

import pytest

from projects.acr.utils.sharded_job import (InferenceSummary, MergeableSummary, end_job,
                                            gather_summaries, image_id, report_inference,
                                            shard_indices)


def test_shards_cover_the_list_once():
    shards = [shard_indices(10, r, 3) for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(10))
    assert shards[0] == [0, 3, 6, 9]
    with pytest.raises(ValueError, match='rank 3 is not in'):
        shard_indices(10, 3, 3)


def test_image_id_from_the_id_or_the_file():
    assert image_id(dict(img_id='2007_000032', img_path='x/y.jpg')) == '2007_000032'
    assert image_id(dict(img_path='x/COCO_1.jpg')) == 'COCO_1'
    with pytest.raises(KeyError, match='neither img_id nor img_path'):
        image_id(dict(label=1))


@dataclass
class Counts(MergeableSummary):
    a: int = 0
    b: int = 0


def test_merge_adds_every_field_and_keeps_the_inputs():
    first, second = InferenceSummary(['a'], [], ['b']), InferenceSummary(['c'], ['d'], [])
    total = InferenceSummary.merge([first, second])
    assert (total.done, total.existing, total.failed) == (['a', 'c'], ['d'], ['b'])
    assert first.done == ['a']
    assert Counts.merge([Counts(1, 2), Counts(3, 4)]) == Counts(4, 6)
    assert Counts.merge([]) == Counts()


def test_one_process_gathers_itself_and_reports(tmp_path, capsys):
    summary = InferenceSummary(['a', 'b'], ['c'], ['z', 'y'])
    total, per_rank = gather_summaries(summary, 1, InferenceSummary.merge)
    assert per_rank == [summary] and total == summary
    end_job(1)  # nothing to close
    path = tmp_path / 'summary.json'
    report_inference('infer_cam', 'out', 5, total, per_rank, str(path))
    printed = capsys.readouterr().out.splitlines()
    assert printed == ['[infer_cam] out: 5 images, 2 done, 1 skipped (existing), 2 failed',
                       '[infer_cam] failed images: y, z']
    report = json.loads(path.read_text())
    assert report == dict(out_dir='out', images=5, done=2, existing=1, failed=2,
                          failed_ids=['y', 'z'],
                          per_rank=[dict(rank=0, done=2, existing=1, failed=2,
                                         done_ids=['a', 'b'])])
