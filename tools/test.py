"""Evaluate a checkpoint: class-map mIoU (with the background-threshold sweep).

Example:
    python tools/test.py configs/acr/vit-tiny_toy.py work_dirs/toy/epoch_12.pth
"""
import argparse
import json
import numbers
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from projects.acr.utils import (NoNativeBF16Error, adapt_config,  # noqa: E402
                                allow_mmengine_checkpoints, atomic_open, join_cpu_process_group)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation logs go')
    parser.add_argument('--amp', action='store_true', help='mixed precision')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. model.test_cfg.scales="(1.0,0.5,1.5)"')
    parser.add_argument(
        '--tta', action='store_true',
        help="multi-scale + flip testing with the config's tta_pipeline/tta_model (stage-2 "
        'configs); add --cfg-options tta_model.dense_crf=True for the dense CRF')
    parser.add_argument('--out-json', help='also write the metrics as JSON here (atomically)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise FileNotFoundError(f'file not found: {path}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise KeyError(f'{args.config} defines no tta_model/tta_pipeline for --tta')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    try:
        adapt_config(cfg, amp=args.amp)
    except NoNativeBF16Error as exc:
        sys.exit(f'tools/test.py: {exc}')
    # Process-wide: torch.load(weights_only=True) accepts mmengine's checkpoint classes,
    # and a CPU run under a launcher joins its gloo group before the runner would try CUDA.
    allow_mmengine_checkpoints()
    join_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    # mmseg's metrics are numpy scalars (np.float32 is no float): JSON gets numbers.
    metrics = {k: float(v) if isinstance(v, numbers.Real) else v for k, v in metrics.items()}
    print(' '.join(f'{k}={v:.4f}' if isinstance(v, float) else f'{k}={v}'
                   for k, v in metrics.items()))
    if args.out_json and is_main_process():
        with atomic_open(args.out_json, 'w') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                           metrics={k: v if isinstance(v, float) else str(v)
                                    for k, v in metrics.items()}), f, indent=2)
        print(f'metrics saved to {args.out_json}')


if __name__ == '__main__':
    main()
