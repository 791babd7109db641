"""Compare search methods on one space: trials to reach a reference's best, pruning's savings.

The reference is a finished sweep (e.g. a grid); each method is one or more finished sweeps
over the same space, one per sampler seed. For each it prints how many trials it took to
reach the reference's best cam/mIoU and how much training time hyperband pruning saved.

Examples:
    python tools/analysis_tools/compare_sweeps.py \
        work_dirs/sweeps/acr_alpha_startlayer_toy_grid4x4 \
        --method tpe work_dirs/sweeps/tpe_seed*/acr_alpha_startlayer_toy_tpe \
        --method random work_dirs/sweeps/random_seed*/acr_alpha_startlayer_toy_tpe \
        --out work_dirs/sweeps/comparison.md
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.acr.sweeps.sweep_comparison import comparison_table, load_sweep_study  # noqa: E402
from projects.acr.utils.atomic_io import atomic_open  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Trials each search method needs to reach a reference sweep\'s best',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__[__doc__.index('Examples:'):])
    parser.add_argument('reference', help='sweep dir (holding study.db) or storage URL')
    parser.add_argument('--method', nargs='+', action='append', required=True,
                        metavar=('NAME', 'SWEEP'),
                        help='a method\'s name and its sweeps (one per seed)')
    parser.add_argument('--tolerance', type=float, default=0.0,
                        help='accept values this close to the reference\'s best')
    parser.add_argument('--out', help='also write the table to this markdown file')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    methods = {}
    for name, *sweeps in args.method:
        if not sweeps:
            raise SystemExit(f'--method {name}: give its sweeps after the name')
        methods[name] = [load_sweep_study(s) for s in sweeps]
    table = comparison_table(load_sweep_study(args.reference), methods, args.tolerance)
    print(table)
    if args.out:
        with atomic_open(args.out, 'w') as f:
            f.write(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
