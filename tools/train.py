"""Train a model from a config (OpenMMLab style).

Examples:
    python tools/train.py configs/acr/vit_voc.py
    python tools/train.py configs/acr/vit-tiny_toy.py --work-dir work_dirs/toy \
        --cfg-options model.acr_loss.loss_weight=0 train_cfg.max_epochs=2
    python tools/train.py CONFIG --resume            # latest checkpoint of the work dir
    python tools/train.py CONFIG --resume PATH.pth   # a given checkpoint
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from projects.acr.utils import (NoNativeBF16Error, adapt_config,  # noqa: E402
                                allow_mmengine_checkpoints, find_latest_complete_checkpoint,
                                join_cpu_process_group)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a weakly supervised model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or, without a value, from the latest '
        'complete checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast (fp16 with loss scaling on '
                        'GPUs without bf16); refused on a CPU without native bf16 '
                        '(AVX512-BF16, AMX or Arm BF16), where it would be slower than fp32')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual / base batch size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. model.acr_loss.loss_weight=0 '
        'train_dataloader.batch_size=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torchrun sets LOCAL_RANK; older launchers pass --local-rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.resume == 'auto':
        # mmengine would trust work_dir/last_checkpoint blindly; resume from a checkpoint
        # that was written completely instead (None: start from scratch).
        latest = find_latest_complete_checkpoint(cfg.work_dir)
        if latest is not None:
            cfg.resume, cfg.load_from = True, latest
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=4))['enable'] = True
    try:
        adapt_config(cfg, amp=args.amp)
    except NoNativeBF16Error as exc:
        sys.exit(f'tools/train.py: {exc}')
    # Process-wide: torch.load(weights_only=True) accepts mmengine's checkpoint classes,
    # and a CPU run under a launcher joins its gloo group before the runner would try CUDA.
    allow_mmengine_checkpoints()
    join_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
