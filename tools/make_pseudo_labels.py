r"""Turn class maps (one ``.npz`` per image, from tools/infer_cam.py) into pseudo-label PNGs.

For every image of the list, the class maps get a background score (power rule or
threshold), are refined by a dense CRF, and pixels where the confident and permissive
labels disagree become 255. The PNGs are VOC-style palette images holding class ids, ready
to replace ``SegmentationClassAug`` when training a segmenter.

Examples:
    # ACR / MCTformer setting: background (1 - max cam)^alpha with alpha 1 and 12, CRF
    python tools/make_pseudo_labels.py --cam-dir work_dirs/acr/cams \
        --config configs/acr/vit_voc.py --out-dir work_dirs/acr/pseudo_labels --workers 8

    # One background threshold (e.g. the best one of tools/eval_cam.py), no ignore band
    python tools/make_pseudo_labels.py --cam-dir cams --data-root data/VOCdevkit/VOC2012 \
        --ann-file ImageSets/Segmentation/train_aug.txt --out-dir pl \
        --mode threshold --bg-thr 0.45

    # Two thresholds: confident above 0.7, background below 0.25, ignored between
    python tools/make_pseudo_labels.py ... --mode threshold --bg-thr 0.25 0.7

    # Shared by 4 processes (on one node or several), each with 8 CRF workers
    torchrun --nproc_per_node 4 tools/make_pseudo_labels.py ... --workers 8 --launcher pytorch
    srun --ntasks 16 python tools/make_pseudo_labels.py ... --workers 8 --launcher slurm

The work is done by projects.acr.pseudo_labels.PseudoLabelJob.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402

from projects.acr.apis import init_distributed  # noqa: E402
from projects.acr.pseudo_labels import (DEFAULT_ANN_FILE, DEFAULT_IMG_DIR,  # noqa: E402
                                        DEFAULT_IMG_SUFFIX, LabelImages, PseudoLabelGenerator,
                                        PseudoLabelJob, PseudoLabelSummary, PseudoLabelWriter,
                                        images_from_config, images_from_tree)
from projects.acr.utils.sharded_job import end_job, gather_summaries  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Make pseudo-label PNGs (VOC palette, 255 = ignore) from class-map '
        'files: background by the power rule or a threshold, dense CRF, ignore band '
        'where the confident and permissive labels disagree.',
        epilog='examples:' + __doc__.split('Examples:', 1)[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--cam-dir', required=True,
                        help='directory of <img_id>.npz class-map files')
    parser.add_argument('--out-dir', required=True, help='where <img_id>.png files go')

    data = parser.add_argument_group(
        'images', 'From a config (its training dataset, or the list --split as in '
        'tools/infer_cam.py) and/or given directly;\nexplicit options override the config.')
    data.add_argument('--config', help='config file whose dataset lists the images')
    data.add_argument('--split', help='with --config: image list next to the test list, e.g. '
                      'train_aug, train, val, as in tools/infer_cam.py (default: the list '
                      'of train_dataloader.dataset)')
    data.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                      help='with --config: override config keys, e.g. '
                      'train_dataloader.dataset.data_root=/data/VOC2012')
    data.add_argument('--data-root', help='dataset root (VOC layout)')
    data.add_argument('--ann-file', help=f'image-id list, relative to the data root unless '
                      f'absolute (default without config: {DEFAULT_ANN_FILE})')
    data.add_argument('--img-dir', help=f'image directory, relative to the data root unless '
                      f'absolute (default without config: {DEFAULT_IMG_DIR})')
    data.add_argument('--img-suffix', help=f'image file suffix (default without config: '
                      f'{DEFAULT_IMG_SUFFIX})')

    rule = parser.add_argument_group('background')
    rule.add_argument('--mode', default='power', choices=['power', 'threshold'],
                      help='power: bg = (1 - max cam)^alpha; threshold: bg = constant '
                      '(default: %(default)s)')
    rule.add_argument('--bg-thr', type=float, nargs='+', metavar='T',
                      help='threshold mode: one background score, or two (low high) for '
                      'an ignore band between them')
    rule.add_argument('--alpha-low', type=float, default=1.0,
                      help='power mode: exponent of the confident labels (strong '
                      'background; default: %(default)s)')
    rule.add_argument('--alpha-high', type=float, default=12.0,
                      help='power mode: exponent of the permissive labels (weak '
                      'background; default: %(default)s); equal alphas give no ignore band')

    crf = parser.add_argument_group('dense CRF (defaults: AffinityNet\'s)')
    crf.add_argument('--no-crf', action='store_true', help='plain argmax, no CRF')
    crf.add_argument('--crf-iters', type=int, default=10,
                     help='mean-field iterations (default: %(default)s)')
    crf.add_argument('--crf-gauss-sxy', type=float, default=3.0,
                     help='smoothness kernel: spatial std in pixels (default: %(default)s)')
    crf.add_argument('--crf-gauss-compat', type=float, default=3.0,
                     help='smoothness kernel weight (default: %(default)s)')
    crf.add_argument('--crf-bi-sxy', type=float, default=80.0,
                     help='appearance kernel: spatial std in pixels (default: %(default)s)')
    crf.add_argument('--crf-bi-srgb', type=float, default=13.0,
                     help='appearance kernel: colour std, 0-255 (default: %(default)s)')
    crf.add_argument('--crf-bi-compat', type=float, default=10.0,
                     help='appearance kernel weight (default: %(default)s)')

    run = parser.add_argument_group('run')
    run.add_argument('--workers', type=int, default=1,
                     help='worker processes; 1 runs in this process (default: %(default)s)')
    run.add_argument('--chunksize', type=int, default=None,
                     help='images per task sent to a worker (default: automatic)')
    run.add_argument('--force', action='store_true',
                     help='rewrite PNGs that exist (default: skip them)')
    run.add_argument('--on-missing', default='error', choices=['error', 'skip'],
                     help='an image without a class-map file: stop with an error, or warn, '
                     'skip it and count it as failed (default: %(default)s)')
    run.add_argument('--launcher', choices=('none', 'pytorch', 'slurm'), default='none',
                     help='pytorch (torchrun) or slurm (srun): every process takes its share '
                     'of the list, on one node or several (default: %(default)s)')
    run.add_argument('--local_rank', '--local-rank', type=int, default=0,
                     help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.config is None and args.data_root is None:
        parser.error('give the images with --config or --data-root')
    if args.mode == 'threshold' and not args.bg_thr:
        parser.error('--mode threshold needs --bg-thr (one value, or two for an ignore band)')
    if args.bg_thr is not None and len(args.bg_thr) > 2:
        parser.error(f'--bg-thr takes one or two values, got {len(args.bg_thr)}')
    if args.mode == 'power' and args.bg_thr:
        parser.error('--bg-thr is for --mode threshold; power mode uses --alpha-low/high')
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    if args.chunksize is not None and args.chunksize < 1:
        parser.error(f'--chunksize must be >= 1, got {args.chunksize}')
    return args


def resolve_images(args: argparse.Namespace) -> LabelImages:
    """The image list of the arguments: from the config (loaded once), or a VOC tree."""
    if args.config is None:
        return images_from_tree(args.data_root, args.ann_file or DEFAULT_ANN_FILE,
                                args.img_dir or DEFAULT_IMG_DIR,
                                args.img_suffix or DEFAULT_IMG_SUFFIX)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return images_from_config(cfg, split=args.split, ann_file=args.ann_file,
                              data_root=args.data_root, img_dir=args.img_dir,
                              img_suffix=args.img_suffix)


def main(argv: Optional[List[str]] = None) -> Dict[str, int]:
    args = parse_args(argv)
    images = resolve_images(args)
    crf = False if args.no_crf else dict(
        n_iters=args.crf_iters, gaussian_sxy=args.crf_gauss_sxy,
        gaussian_compat=args.crf_gauss_compat, bilateral_sxy=args.crf_bi_sxy,
        bilateral_srgb=args.crf_bi_srgb, bilateral_compat=args.crf_bi_compat)
    generator = PseudoLabelGenerator(
        mode=args.mode, bg_thr=args.bg_thr, alpha_low=args.alpha_low,
        alpha_high=args.alpha_high, crf=crf)
    rank, world_size = init_distributed(args.launcher)
    job = PseudoLabelJob(PseudoLabelWriter(generator), args.cam_dir, args.out_dir,
                         force=args.force, on_missing=args.on_missing, workers=args.workers,
                         chunksize=args.chunksize, progress=rank == 0)
    summary = job.run(images, rank, world_size)
    if world_size > 1:
        summary, _ = gather_summaries(summary, world_size, PseudoLabelSummary.merge)
        if rank == 0:
            print(f'pseudo labels in {args.out_dir}, all {world_size} processes: '
                  f'{summary.as_dict()}', flush=True)
    end_job(world_size)
    return summary.as_dict()


if __name__ == '__main__':
    main()
