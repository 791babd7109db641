r"""Check the data a config reads before training on it.

For the datasets of the config's train, val and test loaders (or the lists named with
--split), every listed image and mask is read once: the counts are compared with the
canonical ones (VOC train_aug 10,582 / train 1,464 / val 1,449 and 12,031 masks; COCO
train 82,081 / val 40,137 / val_5000 5,000; the toy dataset's own numbers), missing or
unreadable files, mask values outside the classes and 255, and masks whose size is not
their image's are reported, with a table of how many images hold each class. The exit
status is 1 when something is wrong, and the first bad files are named.

Examples:
    # Everything the VOC config reads (train_aug, and train for validation)
    python tools/analysis_tools/check_dataset.py configs/acr/vit-r50_voc.py

    # Only the lists val and train_aug, 8 worker processes
    python tools/analysis_tools/check_dataset.py configs/acr/vit-r50_voc.py --split val train_aug \
        --workers 8

    # COCO val2014 at another data root
    python tools/analysis_tools/check_dataset.py configs/acr/vit-r50_coco.py --split val \
        --cfg-options test_dataloader.dataset.data_root=/data/coco

    # A subset of the data: report the counts, do not fail on them
    python tools/analysis_tools/check_dataset.py configs/acr/vit-tiny_toy.py --ignore-counts

The work is done by projects.acr.datasets.converters.DatasetChecker.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config, DictAction  # noqa: E402

import projects.acr  # noqa: E402,F401  (registers the datasets)
from projects.acr.datasets.converters import DatasetChecker, format_reports  # noqa: E402
from projects.acr.utils.cpus import available_cpus  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check a config\'s data: counts against the canonical ones, every listed '
        'image and mask present and readable, mask values, sizes, images per class.',
        epilog='examples:' + __doc__.split('Examples:', 1)[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', nargs='+', metavar='NAME',
                        help='lists to check, beside the test dataset\'s list (e.g. '
                        'train_aug train val; COCO: train val val_5000); default: the '
                        'datasets of the train, val and test loaders')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config keys, e.g. '
                        'train_dataloader.dataset.data_root=/data/VOC2012')
    parser.add_argument('--workers', type=int, default=min(8, available_cpus()),
                        help='worker processes reading the files (default: the CPUs up to '
                        '8, here %(default)s)')
    parser.add_argument('--ignore-counts', action='store_true',
                        help='report counts that differ from the canonical ones without '
                        'failing')
    parser.add_argument('--max-report', type=int, default=10,
                        help='bad files named per dataset (default: %(default)s)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Prints the report; returns the exit status (0 when every check passed)."""
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    checker = DatasetChecker(cfg, splits=args.split, workers=args.workers,
                             check_counts=not args.ignore_counts,
                             progress=not args.no_progress)
    reports = checker.run()
    print(format_reports(reports, limit=args.max_report), flush=True)
    failed = [r.name for r in reports if not r.ok]
    print(f'{len(reports) - len(failed)} of {len(reports)} datasets passed' +
          (f'; failed: {", ".join(failed)}' if failed else ''), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f'error: {e}')
