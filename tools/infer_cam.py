"""Write the class maps (GETAM, affinity refinement, flip + multi-scale TTA) of a split.

One ``<img_id>.npz`` per image (format: projects/acr/pseudo_labels/cam_io.py). Images whose
file exists are skipped, so an interrupted run continues where it stopped when started
again with the same arguments.

Examples:
    python tools/infer_cam.py configs/acr/vit_voc.py work_dirs/vit_voc/epoch_10.pth \\
        --split train_aug --scales 1.0 0.5 1.5
    python tools/infer_cam.py CONFIG CKPT --split train --overlay-dir vis/train
    torchrun --nproc_per_node 4 tools/infer_cam.py CONFIG CKPT --split train_aug \\
        --launcher pytorch
    srun --ntasks 16 --gres gpu:8 python tools/infer_cam.py CONFIG CKPT --launcher slurm

The exit status is 1 when some image failed (with --on-error skip), 0 otherwise.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

from projects.acr.apis import (CAMInferencer, InferenceSummary, build_split_dataset,  # noqa: E402
                               check_run_settings, device_of_rank, init_cam_model, init_distributed,
                               resolve_ann_file, shard_indices, split_dataset_cfg)
from projects.acr.utils.sharded_job import end_job, gather_summaries, report_inference  # noqa: E402
from projects.acr.visualization import OVERLAY_MODES  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file of the stage-1 model')
    parser.add_argument('checkpoint', help='trained checkpoint')
    split = parser.add_mutually_exclusive_group()
    split.add_argument('--split', help='image list next to the config\'s test list, e.g. '
                       'train, train_aug, val (default: the config\'s test list)')
    split.add_argument('--ann-file', help='image-id list file (relative to the data root '
                       'unless absolute)')
    parser.add_argument('--data-root', help='replace the dataset\'s data_root')
    parser.add_argument('--out-dir', help='where the .npz files go (default: '
                        'work_dirs/<config name>/cams_<split>)')
    parser.add_argument('--scales', type=float, nargs='+',
                        help='test-time scales, e.g. 1.0 0.5 1.5 (default: model.test_cfg)')
    parser.add_argument('--flip', action=argparse.BooleanOptionalAction,
                        help='average the mirrored image too (default: model.test_cfg)')
    parser.add_argument('--refine', action=argparse.BooleanOptionalAction,
                        help='affinity refinement of the maps (default: model.test_cfg)')
    parser.add_argument('--overlay-dir', help='also write PNG pictures of the maps here')
    parser.add_argument('--overlay-mode', choices=OVERLAY_MODES, default='argmax',
                        help='argmax: image tinted by the strongest class; heatmap: one heat '
                        'map per class next to the image')
    parser.add_argument('--on-error', choices=('raise', 'skip'), default='raise',
                        help='stop at a failing image, or log it and go on')
    parser.add_argument('--num-workers', type=int,
                        help='data loading processes (default: the test dataloader\'s)')
    parser.add_argument('--summary-json', help='write the counts and image ids per rank here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.test_cfg.use_gt_labels=False')
    parser.add_argument('--launcher', choices=('none', 'pytorch', 'slurm'), default='none',
                        help='pytorch: one process per GPU (or CPU slot) under torchrun; '
                        'slurm: one per srun task, on one node or several; each process '
                        'takes its own share of the images')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> int:
    args = parse_args()
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise FileNotFoundError(f'file not found: {path}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    rank, world_size = init_distributed(args.launcher)

    test_cfg = {}
    if args.scales:
        test_cfg['scales'] = tuple(args.scales)
    for key in ('flip', 'refine'):
        if getattr(args, key) is not None:
            test_cfg[key] = getattr(args, key)

    ds_cfg = split_dataset_cfg(cfg, args.split, args.ann_file, args.data_root)
    list_name = osp.splitext(osp.basename(resolve_ann_file(ds_cfg) or 'all'))[0]
    out_dir = args.out_dir or osp.join(
        cfg.get('work_dir') or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0]),
        f'cams_{list_name}')
    dataset = build_split_dataset(cfg, args.split, args.ann_file, args.data_root)
    model = init_cam_model(cfg, args.checkpoint, device_of_rank(), test_cfg)

    model_test_cfg = getattr(model, 'test_cfg', None) or {}
    settings = dict(checkpoint=osp.realpath(args.checkpoint),
                    **{k: model_test_cfg.get(k) for k in
                       ('scales', 'flip', 'refine', 'use_gt_labels', 'score_thr')})
    print_log(f'class maps of {len(dataset)} images of {list_name} ({world_size} process(es)) '
              f'with {settings}', logger='current')
    check_run_settings(out_dir, settings, write=rank == 0)

    num_workers = args.num_workers
    if num_workers is None:
        num_workers = (cfg.get('test_dataloader') or {}).get('num_workers', 0)
    meta = dataset.metainfo
    inferencer = CAMInferencer(
        model, out_dir,
        overlay_dir=args.overlay_dir,
        overlay_mode=args.overlay_mode,
        class_names=meta.get('classes'),
        palette=meta.get('palette'),
        on_error=args.on_error,
        num_workers=num_workers,
        progress=rank == 0)
    summary = inferencer.run(dataset, shard_indices(len(dataset), rank, world_size))

    total, per_rank = gather_summaries(summary, world_size, InferenceSummary.merge)
    if rank == 0:
        report_inference('infer_cam', out_dir, len(dataset), total, per_rank, args.summary_json)
    end_job(world_size)
    failed = len(total.failed)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
