r"""PASCAL VOC 2012 + SBD -> SegmentationClassAug, train_aug.txt, train.txt, val.txt.

VOC is the trainval tar (VOCtrainval_11-May-2012.tar) or the extracted VOCdevkit/VOC2012;
SBD is benchmark.tgz or the extracted benchmark_RELEASE. --out is the data root the
configs read: JPEGImages/, SegmentationClassAug/ (12,031 class-id PNGs: VOC's own mask
where there is one, SBD's otherwise), ImageSets/Segmentation/. With an extracted VOC
folder, --out may be that folder itself (its images stay where they are).

Examples:
    # From the two downloads (checked against their published MD5)
    python tools/dataset_converters/voc_aug.py VOCtrainval_11-May-2012.tar benchmark.tgz \
        --out data/VOCdevkit/VOC2012

    # From extracted folders, writing into the VOC folder itself, 8 worker processes
    python tools/dataset_converters/voc_aug.py data/VOCdevkit/VOC2012 benchmark_RELEASE \
        --out data/VOCdevkit/VOC2012 --workers 8

    # Then check the result against the config
    python tools/analysis_tools/check_dataset.py configs/acr/vit-r50_voc.py

An interrupted run is resumed by running the same command: finished files are skipped.
The work is done by projects.acr.datasets.converters.VOCAugConverter.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.acr.datasets.converters import (SBD_MD5, VOC_TRAINVAL_MD5,  # noqa: E402
                                              VOCAugConverter)
from projects.acr.utils.cpus import available_cpus  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write VOC 2012 + SBD in the WSSS layout (SegmentationClassAug, '
        'train_aug / train / val lists) from the official downloads.',
        epilog='examples:' + __doc__.split('Examples:', 1)[1].rstrip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('voc', metavar='VOC',
                        help='VOCtrainval_11-May-2012.tar or an extracted VOCdevkit/VOC2012')
    parser.add_argument('sbd', metavar='SBD',
                        help="SBD's benchmark.tgz or an extracted benchmark_RELEASE")
    parser.add_argument('--out', required=True,
                        help='data root to write (e.g. data/VOCdevkit/VOC2012)')
    parser.add_argument('--workers', type=int, default=min(8, available_cpus()),
                        help='worker processes (default: the CPUs up to 8, here '
                        '%(default)s)')
    parser.add_argument('--force', action='store_true',
                        help='rewrite masks and images that exist, and take over a mask '
                        'folder another converter filled')
    parser.add_argument('--skip-md5', action='store_true',
                        help='do not check the archives against their published MD5')
    parser.add_argument('--voc-md5', default=VOC_TRAINVAL_MD5,
                        help='expected MD5 of the VOC archive (default: %(default)s)')
    parser.add_argument('--sbd-md5', default=SBD_MD5,
                        help='expected MD5 of the SBD archive (default: %(default)s)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    converter = VOCAugConverter(
        args.voc, args.sbd, args.out, workers=args.workers, check_md5=not args.skip_md5,
        voc_md5=args.voc_md5, sbd_md5=args.sbd_md5, force=args.force,
        progress=not args.no_progress)
    summary = converter.run()
    print('\n'.join(summary.lines()), flush=True)
    return summary.as_dict()


if __name__ == '__main__':
    try:
        main()
    except (OSError, ValueError) as e:  # bad input: the message names the file
        sys.exit(f'error: {e}')
