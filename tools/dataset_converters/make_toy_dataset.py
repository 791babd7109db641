# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Generate the synthetic toy dataset (PASCAL VOC layout) used by the CPU demo.

Example::

    python tools/dataset_converters/make_toy_dataset.py data/toy --seed 0 --num-train 600 \\
        --num-val 100
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the toy weakly supervised segmentation dataset: JPEG images, '
        'PNG class-id masks and VOC-style image lists, plus preview.png.')
    parser.add_argument(
        'out_dir', nargs='?', default='data/toy', help='output directory (default: data/toy)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    parser.add_argument(
        '--num-train', type=int, default=600, help='training images (default: 600)')
    parser.add_argument(
        '--num-val', type=int, default=100, help='validation images (default: 100)')
    parser.add_argument(
        '--img-size', type=int, default=96, help='image side in pixels (default: 96)')
    parser.add_argument(
        '--force',
        action='store_true',
        help='regenerate even if a complete dataset with the same parameters exists')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    # Imported after parsing so that --help answers without loading the model stack.
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from projects.acr.toy_data import make_toy_dataset

    summary = make_toy_dataset(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        img_size=args.img_size,
        seed=args.seed,
        force=args.force)
    state = 'reused existing' if summary['skipped'] else f'generated in {summary["seconds"]:.1f}s'
    print(f'toy dataset {state}: {summary["root"]}')
    for split in ('train', 'val'):
        stats = summary[split]
        print(f'  {split}: {stats["images"]} images, {stats["multi_class_images"]} with 2+ '
              f'classes, images per class {json.dumps(stats["images_per_class"])}')
    return summary


if __name__ == '__main__':
    main()
