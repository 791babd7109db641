r"""COCO 2014 instance annotations -> class-id masks and the image lists WSSS methods use.

ANNOTATIONS is the folder with instances_train2014.json and instances_val2014.json (or
its annotations/ folder), or annotations_trainval2014.zip. --out is the data root the
configs read; it gets SegmentationClass/{train2014,val2014}/COCO_*2014_<12 digits>.png
(0 background, 1-80 the categories in the order of their ids, 255 where only a crowd
region is) and ImageSets/{train,val,val_5000}.txt (images with at least one non-crowd
instance). Put the images in <out>/coco2014/{train2014,val2014}/ (COCO's image zips).

Examples:
    # Both splits from the annotations zip, 8 worker processes
    python tools/dataset_converters/coco_wsss.py annotations_trainval2014.zip \
        --out data/coco --workers 8

    # Only val2014, from the extracted folder; pixels of overlapping instances of
    # different classes ignored instead of the smaller instance on top
    python tools/dataset_converters/coco_wsss.py data/coco/annotations --out data/coco \
        --splits val --overlap ignore

    # Then check the result against the config
    python tools/analysis_tools/check_dataset.py configs/acr/vit-r50_coco.py

An interrupted run is resumed by running the same command: finished masks are skipped.
The work is done by projects.acr.datasets.converters.COCOWSSSConverter.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.acr.datasets.converters import (DEFAULT_OVERLAP, OVERLAP_RULES,  # noqa: E402
                                              COCOWSSSConverter)
from projects.acr.utils.cpus import available_cpus  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Render COCO 2014 class masks (WSSS layout) and the image lists from '
        'the instance annotations.',
        epilog='examples:' + __doc__.split('Examples:', 1)[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('annotations', metavar='ANNOTATIONS',
                        help='folder with instances_{train,val}2014.json, or '
                        'annotations_trainval2014.zip')
    parser.add_argument('--out', required=True, help='data root to write (e.g. data/coco)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'],
                        choices=['train', 'val'], help='splits to convert (default: both)')
    parser.add_argument('--overlap', default=DEFAULT_OVERLAP, choices=OVERLAP_RULES,
                        help='pixels of overlapping instances of different classes: the '
                        'smaller instance on top (default), the larger one, or ignored (255)')
    parser.add_argument('--workers', type=int, default=min(8, available_cpus()),
                        help='worker processes (default: the CPUs up to 8, here '
                        '%(default)s)')
    parser.add_argument('--force', action='store_true',
                        help='rewrite masks that exist, and take over a mask folder another '
                        'tool filled')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    converter = COCOWSSSConverter(
        args.annotations, args.out, splits=args.splits, overlap=args.overlap,
        workers=args.workers, force=args.force, progress=not args.no_progress)
    summary = converter.run()
    print('\n'.join(summary.lines()), flush=True)
    return summary.as_dict()


if __name__ == '__main__':
    try:
        main()
    except (OSError, ValueError) as e:  # bad input: the message names the file
        sys.exit(f'error: {e}')
