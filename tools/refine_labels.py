"""Refine pseudo labels by AffinityNet's random walk (PSA): class maps -> label PNGs.

For each image of the list: its class maps (tools/infer_cam.py) get the background
(1 - max)^alpha (or the constant --bg-thr), walk 2^logt steps over the affinities (^beta)
that the trained AffinityNet predicts, and the argmax becomes the label (VOC palette PNG).
Images whose PNG exists are skipped, so an interrupted run continues when started again;
every file is written atomically. With torchrun or srun each process takes its own share
of the images.

Examples:
    python tools/refine_labels.py configs/affinity/affinitynet_r101-d8_1xb8-8e_voc-448x448.py \\
        work_dirs/affinity/epoch_8.pth --cam-dir work_dirs/vit-r50_voc/cams \\
        --split train_aug --out-dir work_dirs/vit-r50_voc/rw_labels
    torchrun --nproc_per_node 4 tools/refine_labels.py CONFIG CKPT --cam-dir DIR \\
        --out-dir DIR --launcher pytorch
    srun -n 8 python tools/refine_labels.py CONFIG CKPT --cam-dir DIR --out-dir DIR \\
        --launcher slurm

The exit status is 1 when some image failed (with --on-error skip), 0 otherwise.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402

from projects.acr.affinity import (DEFAULT_BETA, DEFAULT_LOGT, DEFAULT_RW_ALPHA,  # noqa: E402
                                   AffinityLabelRefiner, check_refine_settings, split_images)
from projects.acr.apis import (InferenceSummary, device_of_rank, init_cam_model,  # noqa: E402
                               init_distributed, shard_indices)
from projects.acr.utils.sharded_job import end_job, gather_summaries, report_inference  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='AffinityNet config (configs/affinity/...)')
    parser.add_argument('checkpoint', help='trained AffinityNet checkpoint')
    parser.add_argument('--cam-dir', required=True, help='class maps (<img_id>.npz)')
    parser.add_argument('--out-dir', required=True, help='where the <img_id>.png labels go')
    split = parser.add_mutually_exclusive_group()
    split.add_argument('--split', help='image list next to the training list, e.g. train_aug '
                       '(default: the training list of the config)')
    split.add_argument('--ann-file', help='image-id list file (relative to the data root '
                       'unless absolute)')
    parser.add_argument('--data-root', help='replace the dataset\'s data_root')
    parser.add_argument('--alpha', type=float, default=DEFAULT_RW_ALPHA,
                        help='background exponent, (1 - max cam)^alpha (PSA: 16)')
    parser.add_argument('--bg-thr', type=float,
                        help='constant background score instead of (1 - max cam)^alpha '
                        '(MCTformer\'s random walk: 0.39, with --logt 6)')
    parser.add_argument('--beta', type=float, default=DEFAULT_BETA,
                        help='affinity exponent (PSA: 8)')
    parser.add_argument('--logt', type=int, default=DEFAULT_LOGT,
                        help='the walk takes 2^logt steps (PSA: 8)')
    parser.add_argument('--method', choices=('auto', 'sparse', 'dense'), default='auto',
                        help='sparse steps (any size), dense matrix squaring (small grids), '
                        'or auto: dense up to a 16x16 grid, sparse above')
    parser.add_argument('--on-error', choices=('raise', 'skip'), default='raise',
                        help='stop at a failing image, or log it, count it and go on')
    parser.add_argument('--summary-json', help='write the counts and image ids here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', choices=('none', 'pytorch', 'slurm'), default='none',
                        help='pytorch/slurm: one process per GPU (or CPU slot), each on its '
                        'own share of the images')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> int:
    args = parse_args()
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise FileNotFoundError(f'file not found: {path}')
    if not osp.isdir(args.cam_dir):
        raise FileNotFoundError(f'class-map directory not found: {args.cam_dir}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    rank, world_size = init_distributed(args.launcher)
    items = split_images(cfg, args.split, args.ann_file, args.data_root)
    model = init_cam_model(cfg, args.checkpoint, device_of_rank())
    settings = dict(checkpoint=osp.realpath(args.checkpoint),
                    cam_dir=osp.realpath(args.cam_dir), alpha=args.alpha, bg_thr=args.bg_thr,
                    beta=args.beta, logt=args.logt)
    check_refine_settings(args.out_dir, settings, write=rank == 0)
    refiner = AffinityLabelRefiner(model, args.cam_dir, args.out_dir, alpha=args.alpha,
                                   bg_thr=args.bg_thr, beta=args.beta, logt=args.logt,
                                   method=args.method, on_error=args.on_error,
                                   progress=rank == 0)
    mine = [items[i] for i in shard_indices(len(items), rank, world_size)]
    summary = refiner.run(mine)

    total, per_rank = gather_summaries(summary, world_size, InferenceSummary.merge)
    if rank == 0:
        report_inference('refine_labels', args.out_dir, len(items), total, per_rank,
                         args.summary_json)
    end_job(world_size)
    failed = len(total.failed)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
