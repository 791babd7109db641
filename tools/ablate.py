"""Run an ablation: named variants of a config x training seeds, with the same budget.

Each run trains with tools/train.py (and evaluates its last checkpoint with tools/test.py
for the spec's evaluations); finished runs are skipped on a rerun, an interrupted training
resumes. The report (results.md: mean, std, per-seed values and paired differences to the
baseline; results.png: bars with per-seed points) is written under
<work-dir-root>/<spec name>/.

Examples:
    python tools/ablate.py configs/ablations/acr_toy.yaml
    python tools/ablate.py configs/ablations/acr_toy.yaml --seeds 0 1 --variants no_acr flip_acr
    python tools/ablate.py configs/ablations/acr_toy.yaml --report-only
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.acr.ablation import AblationRunner, load_ablation_spec  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run the variants x seeds of an ablation spec and tabulate them',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('spec', help='ablation spec (YAML), e.g. configs/ablations/*.yaml')
    parser.add_argument('--work-dir-root', default='work_dirs/ablations',
                        help='runs go to <root>/<spec name>/<variant>/seed<S>')
    parser.add_argument('--variants', nargs='+', help='only these variants')
    parser.add_argument('--seeds', nargs='+', type=int, help="only these seeds (default: "
                        "the spec's)")
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='config overrides added to every run (after the spec\'s)')
    parser.add_argument('--report-only', action='store_true',
                        help='run nothing; write the report of the finished runs')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    spec = load_ablation_spec(args.spec)
    runner = AblationRunner(spec, work_dir_root=args.work_dir_root, variants=args.variants,
                            seeds=args.seeds, cfg_options=args.cfg_options)
    if args.report_only:
        print(runner.report())
        return 0
    records = runner.run()
    print(open(osp.join(runner.root, 'results.md'), encoding='utf-8').read())
    failed = [r for r in records if r.status != 'done']
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
