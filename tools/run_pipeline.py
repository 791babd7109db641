"""Run the whole weakly supervised pipeline, skipping the steps that are already done.

    stage-1 training -> class maps -> pseudo labels -> evaluation of both
    [-> AffinityNet training -> random-walk labels -> their evaluation]
    -> stage-2 training on the pseudo labels -> evaluation on the real masks -> report

The bracketed AffinityNet steps (PSA) run by default with the published VOC configs and
stage 2 then trains on the random-walk labels; --no-affinity skips them, --affinity adds
them to the toy pipeline (configs/affinity/affinitynet_r18-d8_1xb8-6e_toy-96x96.py).

Examples:
    # the toy pipeline, as `make demo` runs it after making the toy data
    python tools/run_pipeline.py --work-dir work_dirs/toy_pipeline --data-root data/toy \\
        --pseudo-label-args="--mode threshold --bg-thr 0.5 0.75 --crf-bi-sxy 20"

    # PASCAL VOC with the paper's backbone and DeepLabV2
    python tools/run_pipeline.py configs/acr/vit-r50_voc.py \\
        configs/seg/deeplabv2_r101-d8_4xb4-40k_voc-pseudo-512x512.py \\
        --work-dir work_dirs/voc_pipeline --infer-args="--scales 1.0 0.5 1.5"

Every step writes its outputs atomically and is skipped when they all exist, so an
interrupted run continues where it stopped; --force STEP reruns a step. The report
(markdown and JSON) goes to WORK_DIR/report.md and to W&B (offline without a key).
"""
import argparse
import os.path as osp
import shlex
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.acr.pipeline import wsss_pipeline  # noqa: E402
from projects.acr.pipeline import STEP_NAMES, PipelineSettings, run_pipeline  # noqa: E402
from projects.acr.pipeline.report_logger import log_report_to_wandb  # noqa: E402

TOY_STAGE1 = 'configs/acr/vit-tiny_toy.py'
TOY_STAGE2 = 'configs/seg/deeplabv2_r18-d8_1xb8-1k_toy-pseudo-96x96.py'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('stage1_config', nargs='?', default=TOY_STAGE1,
                        help=f'stage-1 (ACR) config (default: {TOY_STAGE1})')
    parser.add_argument('stage2_config', nargs='?', default=TOY_STAGE2,
                        help=f'stage-2 segmentation config (default: {TOY_STAGE2})')
    parser.add_argument('--work-dir', required=True, help='root of all outputs')
    parser.add_argument('--data-root', help='replace the data root of both configs')
    parser.add_argument('--cam-split', default='train_aug',
                        help='list the class maps and pseudo labels are made for')
    parser.add_argument('--eval-split', default='train',
                        help='list on which maps and pseudo labels are scored')
    parser.add_argument('--stage1-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='--cfg-options of stage 1')
    parser.add_argument('--stage2-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='--cfg-options of stage 2')
    parser.add_argument('--infer-args', default='',
                        help='extra arguments of tools/infer_cam.py, one quoted string')
    parser.add_argument('--pseudo-label-args', default='',
                        help='extra arguments of tools/make_pseudo_labels.py, one quoted '
                        'string, e.g. "--no-crf --workers 4"')
    parser.add_argument('--affinity', action=argparse.BooleanOptionalAction, default=None,
                        help='train AffinityNet on the pseudo labels and give stage 2 the '
                        'labels of its random walk (PSA); default: on for the published VOC '
                        'configs, off otherwise (the toy demo)')
    parser.add_argument('--affinity-config',
                        help='AffinityNet config (default: the one for the stage-1 data, '
                        'configs/affinity/...); implies --affinity')
    parser.add_argument('--affinity-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='--cfg-options of the AffinityNet training and random walk')
    parser.add_argument('--refine-args', default='',
                        help='extra arguments of tools/refine_labels.py, one quoted string, '
                        'e.g. "--alpha 12 --logt 6"')
    parser.add_argument('--seed', type=int, default=0, help='seed of all trainings')
    parser.add_argument('--force', nargs='+', default=[], choices=STEP_NAMES,
                        help='rerun these steps even if their outputs exist')
    parser.add_argument('--no-wandb', action='store_true', help='do not log the report')
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> PipelineSettings:
    """The pipeline settings of parsed command-line arguments."""
    affinity_config = getattr(args, 'affinity_config', None)
    use_affinity = getattr(args, 'affinity', None)
    if use_affinity is None:
        use_affinity = bool(affinity_config) or wsss_pipeline.affinity_by_default(
            args.stage1_config)
    if use_affinity and not affinity_config:
        affinity_config = wsss_pipeline.affinity_config_for(args.stage1_config)
        if affinity_config is None:
            raise SystemExit(f'no AffinityNet config goes with {args.stage1_config}; give '
                             '--affinity-config or --no-affinity')
    return PipelineSettings(
        stage1_config=args.stage1_config,
        stage2_config=args.stage2_config,
        work_dir=args.work_dir,
        data_root=args.data_root,
        cam_split=args.cam_split,
        eval_split=args.eval_split,
        stage1_options=list(args.stage1_options),
        stage2_options=list(args.stage2_options),
        infer_args=shlex.split(args.infer_args),
        pseudo_label_args=shlex.split(args.pseudo_label_args),
        seed=args.seed,
        affinity_config=affinity_config if use_affinity else None,
        affinity_options=list(getattr(args, 'affinity_options', [])),
        refine_args=shlex.split(getattr(args, 'refine_args', '')))


def main() -> None:
    args = parse_args()
    settings = settings_from_args(args)
    figures = run_pipeline(settings, force=args.force)
    if not args.no_wandb:
        log_report_to_wandb(settings, figures)


if __name__ == '__main__':
    main()
