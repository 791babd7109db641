"""Run a hyper-parameter sweep (a W&B sweep spec from configs/sweeps/).

With W&B reachable (API key and network) the sweep is created on the server and an agent
runs its trials; otherwise, or with --local, the same spec runs here: grid (every
combination) or random (seeded; bayes falls back to it) sampling, one work dir per trial,
finished trials skipped on a rerun, a markdown table sorted by the metric at the end.

Examples:
    python tools/sweep.py configs/sweeps/acr_alpha_startlayer_toy.yaml --local
    python tools/sweep.py configs/sweeps/acr_alpha_lr_startlayer_voc.yaml --count 20 \
        --project acr-wsss
    python tools/sweep.py configs/sweeps/acr_alpha_lr_startlayer_voc.yaml --local --count 8 \
        --cfg-options train_cfg.max_epochs=2
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.acr.sweeps import LocalSweepRunner, load_sweep_spec, run_wandb_sweep  # noqa: E402
from projects.acr.visualization import decide_wandb_mode  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run a W&B sweep spec on the W&B server or locally',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('spec', help='sweep spec (YAML), e.g. configs/sweeps/*.yaml')
    parser.add_argument('--local', action='store_true',
                        help='run without the W&B server even when it is reachable')
    parser.add_argument('--count', type=int,
                        help='number of trials (random/bayes; the spec\'s run_cap when '
                        'omitted), or a cap on the grid; on W&B, the trials of this agent')
    parser.add_argument('--seed', type=int, default=0, help='seed of local random search')
    parser.add_argument('--project', default='acr-wsss', help='W&B project')
    parser.add_argument('--entity', help='W&B entity (user or team)')
    parser.add_argument('--sweep-id', help='join this existing W&B sweep instead of '
                        'creating one')
    parser.add_argument('--work-dir-root', default='work_dirs/sweeps',
                        help='trials go to <root>/<sweep name>/<trial name>')
    parser.add_argument('--config', help='config file replacing the one in the spec\'s '
                        'command (e.g. a smaller variant)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='config overrides added to every trial, e.g. '
                        'train_cfg.max_epochs=2 (must not set a swept key)')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    spec = load_sweep_spec(args.spec)
    sweep_dir = osp.join(osp.abspath(args.work_dir_root), spec.name)
    local = args.local
    if not local:
        mode, reason = decide_wandb_mode()
        if mode != 'online':
            print(f'W&B is not available ({reason}): running the sweep locally')
            local = True
    if local:
        runner = LocalSweepRunner(spec, sweep_dir, config=args.config,
                                  cfg_options=args.cfg_options, count=args.count,
                                  seed=args.seed)
        results = runner.run()
    else:
        results = run_wandb_sweep(spec, sweep_dir, project=args.project, entity=args.entity,
                                  count=args.count, sweep_id=args.sweep_id,
                                  config=args.config, cfg_options=args.cfg_options)
    failed = [r.name for r in results if r.status != 'done']
    if failed:
        print(f'{len(failed)} trial(s) failed: {", ".join(failed)}', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
