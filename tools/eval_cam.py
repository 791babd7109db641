"""Evaluate class-map files or label PNGs against the masks of a dataset split.

Class maps (``--cam-dir``, files of tools/infer_cam.py): the background threshold is swept
in one pass over the data; prints the best threshold with per-class IoU / precision /
recall, saves the mIoU-vs-threshold curve. Labels (``--label-dir``, e.g. pseudo labels):
PNGs of class ids (grayscale or palette), 255 = no label.

Examples:
    python tools/eval_cam.py configs/acr/vit_voc.py --cam-dir work_dirs/vit_voc/cams_train \\
        --split train
    python tools/eval_cam.py configs/acr/vit_voc.py --label-dir pseudo/train --split train \\
        --json pseudo/train_eval.json
    python tools/eval_cam.py --data-root data/VOCdevkit/VOC2012 --split train \\
        --dataset-type VOCClsDataset --cam-dir cams/train --on-missing skip
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402

import projects.acr  # noqa: E402,F401  (registers the datasets)
from projects.acr.apis import (build_split_dataset, resolve_ann_file,  # noqa: E402
                               split_dataset_cfg, split_items)
from projects.acr.evaluation import (DEFAULT_THRESHOLDS, CAMFileEvaluator,  # noqa: E402
                                     LabelEvaluator, thresholds_from_range)
from projects.acr.evaluation.background_thresholds import DEFAULT_FIXED_THRESHOLD  # noqa: E402
from projects.acr.utils.atomic_io import atomic_open  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', nargs='?',
                        help='config whose test dataset gives the masks (or use --data-root)')
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument('--cam-dir', help='directory of <img_id>.npz class-map files')
    what.add_argument('--label-dir', help='directory of <img_id>.png label maps')
    split = parser.add_mutually_exclusive_group()
    split.add_argument('--split', help='image list next to the test list, e.g. train, val')
    split.add_argument('--ann-file', help='image-id list (relative to the data root unless '
                       'absolute)')
    parser.add_argument('--data-root', help='dataset root (replaces the config\'s)')
    parser.add_argument('--dataset-type', default='VOCClsDataset',
                        help='dataset type when no config is given (default: VOCClsDataset)')
    sweep = parser.add_mutually_exclusive_group()
    sweep.add_argument('--thresholds', type=float, nargs='+',
                       help='background thresholds (default: the official sweep 0.00, '
                       '0.01, ..., 0.59)')
    sweep.add_argument('--num-thresholds', type=int,
                       help='that many thresholds evenly over --threshold-range')
    parser.add_argument('--threshold-range', type=float, nargs=2, default=(0.0, 0.6),
                        metavar=('LO', 'HI'), help='half-open range of --num-thresholds')
    parser.add_argument('--fixed-threshold', type=float, default=DEFAULT_FIXED_THRESHOLD,
                        help='also report the mIoU at this threshold, fixed in advance '
                        '(default: %(default)s; negative: no such figure)')
    parser.add_argument('--ignore-index', type=int, default=255,
                        help='label of unlabelled pixels in masks and labels')
    parser.add_argument('--pred-ignore', choices=('exclude', 'miss'), default='exclude',
                        help='labels: leave unlabelled (ignore-index) pixels out, or count them '
                        'as misses of their true class; the coverage is reported either way')
    parser.add_argument('--on-missing', choices=('raise', 'skip'), default='raise',
                        help='an image without a file: error, or warn and leave it out')
    parser.add_argument('--curve', help='plot of mIoU vs threshold (default: '
                        '<cam-dir>/threshold_curve_<list>.png; "none": no plot)')
    parser.add_argument('--json', help='write the summary as JSON here')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--workers', type=int, default=None,
                        help='processes counting class maps (default: the CPUs, at most 8, '
                        'one per 32 images)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args()


def load_config(args: argparse.Namespace) -> Config:
    if args.config:
        if not osp.isfile(args.config):
            raise FileNotFoundError(f'config file not found: {args.config}')
        cfg = Config.fromfile(args.config)
    else:
        if not args.data_root:
            raise ValueError('give a config, or --data-root with --split or --ann-file')
        if not (args.split or args.ann_file):
            raise ValueError('without a config, --split or --ann-file names the image list')
        cfg = Config(dict(
            default_scope='mmseg',
            test_dataloader=dict(dataset=dict(type=args.dataset_type,
                                              data_root=args.data_root))))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    ds_cfg = split_dataset_cfg(cfg, args.split, args.ann_file, args.data_root)
    list_name = osp.splitext(osp.basename(resolve_ann_file(ds_cfg) or 'all'))[0]
    dataset = build_split_dataset(cfg, args.split, args.ann_file, args.data_root,
                                  load_images=False)
    classes = dataset.metainfo['classes']
    items = split_items(dataset)
    progress = not args.no_progress

    if args.cam_dir:
        if args.thresholds:
            thresholds = args.thresholds
        elif args.num_thresholds:
            thresholds = thresholds_from_range(args.num_thresholds, args.threshold_range)
        else:
            thresholds = DEFAULT_THRESHOLDS
        fixed = None if args.fixed_threshold < 0 else args.fixed_threshold
        evaluator = CAMFileEvaluator(classes, thresholds, fixed, args.ignore_index,
                                     args.on_missing)
        result = evaluator.evaluate(args.cam_dir, items, progress, workers=args.workers)
        print(f'\nClass maps {args.cam_dir} on {list_name}: {result.num_images} images'
              f'{f", {len(result.missing)} missing (skipped)" if result.missing else ""}')
        print(f'mIoU {result.miou * 100:.2f}% at background threshold '
              f'{result.best_threshold:.3f} (the best of the sweep, chosen on these masks)')
        if fixed is not None:
            print(f'mIoU {result.miou_at(fixed) * 100:.2f}% at the fixed threshold {fixed:.3f}')
        print()
        print(result.report.to_markdown())
        points = ' '.join(f'{t:.2f}:{m * 100:.1f}'
                          for t, m in zip(result.thresholds, result.miou_curve))
        print(f'\nmIoU vs threshold: {points}')
        curve = args.curve or osp.join(args.cam_dir, f'threshold_curve_{list_name}.png')
        if curve.lower() != 'none':
            result.save_curve(curve)
            print(f'curve saved to {curve}')
    else:
        evaluator = LabelEvaluator(classes, args.ignore_index, args.pred_ignore,
                                   args.on_missing)
        result = evaluator.evaluate(args.label_dir, items, progress)
        print(f'\nLabels {args.label_dir} on {list_name}: {result.num_images} images'
              f'{f", {len(result.missing)} missing (skipped)" if result.missing else ""}')
        print(f'mIoU {result.miou * 100:.2f}%, coverage {result.coverage * 100:.2f}% of the '
              f'pixels labelled (unlabelled pixels: {args.pred_ignore})\n')
        print(result.report.to_markdown())

    if args.json:
        summary = dict(source=args.cam_dir or args.label_dir, split=list_name,
                       **result.to_dict())
        with atomic_open(args.json, 'w') as f:
            json.dump(summary, f, indent=2)
        print(f'summary saved to {args.json}')


if __name__ == '__main__':
    main()
