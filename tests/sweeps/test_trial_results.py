import json

from projects.acr.sweeps import TrialResult, read_metric, results_table


def test_read_metric_best_and_last_over_launches(tmp_path):
    for stamp, values in (('20240101_000000', [10.0, 30.0]), ('20240102_000000', [25.0])):
        vis = tmp_path / stamp / 'vis_data'
        vis.mkdir(parents=True)
        lines = [json.dumps({'loss': 1.0, 'step': 1})]
        lines += [json.dumps({'cam/mIoU': v, 'step': i + 1}) for i, v in enumerate(values)]
        (vis / 'scalars.json').write_text('\n'.join(lines) + '\n')
    out = read_metric(str(tmp_path), 'cam/mIoU', 'maximize')
    assert out == dict(best=30.0, best_step=2, last=25.0, count=3)
    assert read_metric(str(tmp_path), 'cam/mIoU', 'minimize')['best'] == 10.0
    assert read_metric(str(tmp_path), 'nothing')['best'] is None


def test_results_table_sorted_by_metric():
    results = [TrialResult('a', {'k': 1}, 'done', best=20.0, last=19.0, best_step=2),
               TrialResult('b', {'k': 2}, 'failed'),
               TrialResult('c', {'k': 3}, 'done', best=35.5, last=35.5, best_step=4)]
    rows = results_table(results, 'cam/mIoU', 'maximize', ['k']).splitlines()
    assert rows[0] == ('| rank | trial | k | best cam/mIoU | best step | last cam/mIoU | '
                       'status |')
    assert [r.split('|')[2].strip() for r in rows[2:]] == ['c', 'a', 'b']
    assert rows[2] == '| 1 | c | 3 | 35.50 | 4 | 35.50 | done |'
    rows = results_table(results, 'loss', 'minimize', ['k']).splitlines()
    assert [r.split('|')[2].strip() for r in rows[2:]] == ['a', 'c', 'b']
