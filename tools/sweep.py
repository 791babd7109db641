"""Run a hyper-parameter sweep (a W&B sweep spec from configs/sweeps/).

With W&B reachable (API key and network) the sweep is created on the server and an agent
runs its trials; otherwise, or with --local / --storage, the same spec runs as an Optuna
study: grid (GridSampler), random (RandomSampler, seeded) or bayes (TPE), hyperband
early termination (HyperbandPruner) on the validations' metric, the study in
<work dir root>/<sweep>/study.db or any database given with --storage. Start as many
workers as you like on one study (tools/slurm_sweep.sh starts an array of them); a rerun
continues the study and never reruns a finished trial.

Examples:
    python tools/sweep.py configs/sweeps/acr_alpha_startlayer_toy.yaml --local
    python tools/sweep.py configs/sweeps/acr_alpha_startlayer_toy_tpe.yaml --local --count 12
    # two workers on one study (run each in its own terminal, or on other machines)
    python tools/sweep.py configs/sweeps/acr_alpha_lr_startlayer_voc.yaml --local \
        --storage postgresql://user:password@db-host/sweeps
    python tools/sweep.py configs/sweeps/acr_alpha_startlayer_toy.yaml --report-only
    python tools/sweep.py configs/sweeps/acr_alpha_lr_startlayer_voc.yaml --count 20 \
        --project acr-wsss                                        # on the W&B server
    optuna-dashboard sqlite:///work_dirs/sweeps/acr_alpha_startlayer_toy/study.db
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.acr.sweeps import (LocalSweepRunner, SweepSpecError, load_sweep_spec,  # noqa: E402
                                 run_wandb_sweep)
from projects.acr.visualization import decide_wandb_mode  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run a W&B sweep spec on the W&B server or as an Optuna study',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=__doc__[__doc__.index('Examples:'):])
    parser.add_argument('spec', help='sweep spec (YAML), e.g. configs/sweeps/*.yaml')
    parser.add_argument('--local', action='store_true',
                        help='run as an Optuna study even when W&B is reachable')
    parser.add_argument('--count', type=int,
                        help='the study\'s number of trials (random/bayes; the spec\'s '
                        'run_cap when omitted), or a cap on the grid; on W&B, the trials '
                        'of this agent')
    parser.add_argument('--method', choices=('grid', 'random', 'bayes'),
                        help='search with this method instead of the spec\'s (a study of '
                        'another method needs its own --study-name or --work-dir-root)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the sampler of the worker that creates the study (and '
                        'of the grid\'s order); joining workers draw seeds of their own')
    optuna_group = parser.add_argument_group('Optuna study (--local)')
    optuna_group.add_argument('--storage', help='RDB URL of the study, e.g. '
                              'postgresql://user:pw@host/db, mysql://..., sqlite:///path.db '
                              '(implies --local; default sqlite:///<sweep dir>/study.db)')
    optuna_group.add_argument('--study-name', help='name of the study in the storage '
                              '(default: the sweep\'s name)')
    optuna_group.add_argument('--heartbeat', type=int, default=60,
                              help='seconds between heartbeats of a running trial')
    optuna_group.add_argument('--grace-period', type=int,
                              help='seconds without heartbeat after which a trial counts as '
                              'killed and is re-queued (default: twice --heartbeat)')
    optuna_group.add_argument('--max-retry', type=int, default=2,
                              help='times a killed trial is re-queued')
    optuna_group.add_argument('--no-plots', action='store_true',
                              help='write results.md without the plots')
    optuna_group.add_argument('--report-only', action='store_true',
                              help='write results.md and the plots from the study, run nothing')
    wandb_group = parser.add_argument_group('W&B server')
    wandb_group.add_argument('--project', default='acr-wsss', help='W&B project')
    wandb_group.add_argument('--entity', help='W&B entity (user or team)')
    wandb_group.add_argument('--sweep-id', help='join this existing W&B sweep instead of '
                             'creating one')
    parser.add_argument('--work-dir-root', default='work_dirs/sweeps',
                        help='trials go to <root>/<sweep name>/trial_NNNN')
    parser.add_argument('--config', help='config file replacing the one in the spec\'s '
                        'command (e.g. a smaller variant)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='config overrides added to every trial, e.g. '
                        'train_cfg.max_epochs=2 (must not set a swept key)')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        return run(args)
    except (SweepSpecError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    spec = load_sweep_spec(args.spec, method=args.method)
    sweep_dir = osp.join(osp.abspath(args.work_dir_root), spec.name)
    local = args.local or args.storage is not None or args.report_only
    if not local:
        mode, reason = decide_wandb_mode()
        if mode != 'online':
            print(f'W&B is not available ({reason}): running the sweep as an Optuna study')
            local = True
    if not local:
        results = run_wandb_sweep(spec, sweep_dir, project=args.project, entity=args.entity,
                                  count=args.count, sweep_id=args.sweep_id,
                                  config=args.config, cfg_options=args.cfg_options)
        failed = [r.name for r in results if r.status != 'done']
    else:
        runner = LocalSweepRunner(spec, sweep_dir, config=args.config,
                                  cfg_options=args.cfg_options, count=args.count,
                                  seed=args.seed, storage=args.storage,
                                  study_name=args.study_name, heartbeat_interval=args.heartbeat,
                                  grace_period=args.grace_period, max_retry=args.max_retry,
                                  plots=not args.no_plots)
        if args.report_only:
            print(runner.report())
            return 0
        results = runner.run()
        failed = [r.name for r in results if r.status.startswith('failed')]
    if failed:
        print(f'{len(failed)} trial(s) failed: {", ".join(failed)}', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
