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
"""
import argparse
import multiprocessing
import os.path as osp
import sys
import time
import warnings
from typing import Dict, List, Optional, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from mmengine.config import Config, DictAction  # noqa: E402
from tqdm import tqdm  # noqa: E402

from projects.acr.apis.cam_inferencer import image_id  # noqa: E402
from projects.acr.apis.split_dataset import build_split_dataset, split_dataset_cfg  # noqa: E402
from projects.acr.pseudo_labels import (PseudoLabelGenerator, PseudoLabelWriter,  # noqa: E402
                                        cam_path)

DEFAULT_ANN_FILE = 'ImageSets/Segmentation/train_aug.txt'
DEFAULT_IMG_DIR = 'JPEGImages'
DEFAULT_IMG_SUFFIX = '.jpg'


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


def _under(root: Optional[str], path: str) -> str:
    return path if osp.isabs(path) or not root else osp.join(root, path)


def dataset_from_config(args: argparse.Namespace) -> Dict[str, Optional[str]]:
    """data_root, ann_file, img_dir and img_suffix of the config's dataset (unjoined)."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.split:
        dataset, where = split_dataset_cfg(cfg, split=args.split), f'split {args.split}'
    else:
        key = 'train_dataloader'
        loader = cfg.get(key)
        if loader is None or 'dataset' not in loader:
            raise KeyError(f'{args.config}: no {key}.dataset')
        dataset, where = loader['dataset'], f'{key}.dataset'
    # Wrappers such as RepeatDataset hold the real dataset under "dataset".
    while 'ann_file' not in dataset and 'dataset' in dataset:
        dataset, where = dataset['dataset'], where + '.dataset'
    if 'ann_file' not in dataset:
        raise KeyError(f'{args.config}: {where} has no ann_file (concatenated datasets are '
                       'not supported here; give --data-root and --ann-file)')
    prefix = dataset.get('data_prefix') or {}
    return dict(data_root=dataset.get('data_root'), ann_file=dataset['ann_file'],
                img_dir=prefix.get('img_path', DEFAULT_IMG_DIR),
                img_suffix=dataset.get('img_suffix', DEFAULT_IMG_SUFFIX))


def images_from_dataset(args: argparse.Namespace) -> Tuple[List[str], List[str], str]:
    """Image ids, image paths and the list file, read by the config's dataset class.

    The dataset knows its own tree (COCO's split folders, id forms), so nothing is
    rebuilt here from ``data_prefix``.
    """
    spec = dataset_from_config(args)
    ann_file = args.ann_file or (None if args.split else spec['ann_file'])
    # Without --split the training dataset is meant, with its own data root.
    data_root = args.data_root or (None if args.split else spec['data_root'])
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset = build_split_dataset(cfg, split=args.split, ann_file=ann_file,
                                  data_root=data_root, load_images=False)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    if not infos:
        raise ValueError(f'image-id list is empty: {dataset.ann_file}')
    return [image_id(i) for i in infos], [i['img_path'] for i in infos], dataset.ann_file


def resolve_images(args: argparse.Namespace) -> Tuple[List[str], List[str], str]:
    """Image ids, their image files and the list file."""
    if args.config is not None and args.img_dir is None and args.img_suffix is None:
        return images_from_dataset(args)
    spec = dict(data_root=None, ann_file=DEFAULT_ANN_FILE, img_dir=DEFAULT_IMG_DIR,
                img_suffix=DEFAULT_IMG_SUFFIX)
    if args.config is not None:
        spec.update(dataset_from_config(args))
    for key in spec:
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    root = spec['data_root']
    if root and not osp.isdir(root):
        raise FileNotFoundError(f'data root is not a directory: {root}')
    ann_file = _under(root, spec['ann_file'])
    img_dir = _under(root, spec['img_dir'])
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'image-id list (ann_file) not found: {ann_file}')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image directory not found: {img_dir}')
    with open(ann_file, encoding='utf-8') as f:
        # VOC lists hold one id per line; extra columns (e.g. a mask path) are ignored.
        ids = [line.split()[0] for line in f if line.strip()]
    if not ids:
        raise ValueError(f'image-id list is empty: {ann_file}')
    return ids, [osp.join(img_dir, i + spec['img_suffix']) for i in ids], ann_file


def default_chunksize(num_jobs: int, workers: int) -> int:
    # About four chunks per worker balances the load without per-image messaging.
    return max(1, min(32, num_jobs // (4 * workers)))


def main(argv: Optional[List[str]] = None) -> Dict[str, int]:
    args = parse_args(argv)
    ids, img_files, ann_file = resolve_images(args)
    crf = False if args.no_crf else dict(
        n_iters=args.crf_iters, gaussian_sxy=args.crf_gauss_sxy,
        gaussian_compat=args.crf_gauss_compat, bilateral_sxy=args.crf_bi_sxy,
        bilateral_srgb=args.crf_bi_srgb, bilateral_compat=args.crf_bi_compat)
    generator = PseudoLabelGenerator(
        mode=args.mode, bg_thr=args.bg_thr, alpha_low=args.alpha_low,
        alpha_high=args.alpha_high, crf=crf)
    writer = PseudoLabelWriter(generator)

    if not osp.isdir(args.cam_dir):
        raise FileNotFoundError(f'class-map directory not found: {args.cam_dir}')
    jobs, skipped, missing = [], 0, []
    for img_id, img_file in zip(ids, img_files):
        out_file = osp.join(args.out_dir, img_id + '.png')
        if not args.force and osp.isfile(out_file):
            skipped += 1
            continue
        cam_file = cam_path(args.cam_dir, img_id)
        if not osp.isfile(cam_file):
            missing.append(cam_file)
            continue
        jobs.append((cam_file, img_file, out_file))
    if missing:
        shown = ', '.join(missing[:3]) + (', ...' if len(missing) > 3 else '')
        if args.on_missing == 'error':
            raise FileNotFoundError(
                f'class maps missing for {len(missing)} of {len(ids)} images of {ann_file}: '
                f'{shown} (--on-missing skip leaves them out)')
        warnings.warn(f'class maps missing for {len(missing)} images, skipped: {shown}')

    print(f'{len(ids)} images in {ann_file}: {len(jobs)} to make, {skipped} already in '
          f'{args.out_dir}; {generator}', flush=True)
    start = time.time()
    written = 0
    with tqdm(total=len(jobs), desc='pseudo labels', unit='img', dynamic_ncols=True) as bar:
        if args.workers == 1 or len(jobs) <= 1:
            for job in jobs:
                writer(job)
                written += 1
                bar.update()
        else:
            chunksize = args.chunksize or default_chunksize(len(jobs), args.workers)
            with multiprocessing.Pool(min(args.workers, len(jobs))) as pool:
                for _ in pool.imap_unordered(writer, jobs, chunksize=chunksize):
                    written += 1
                    bar.update()
    summary = dict(written=written, skipped=skipped, failed=len(missing), total=len(ids))
    print(f'pseudo labels in {args.out_dir}: written {written}, skipped {skipped} (already '
          f'there), failed {len(missing)} (class maps missing); {time.time() - start:.1f}s',
          flush=True)
    return summary


if __name__ == '__main__':
    main()
