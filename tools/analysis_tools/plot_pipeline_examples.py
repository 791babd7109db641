"""Draw a pipeline run's examples: image, class maps, pseudo label, true mask per image.

The map tiles colour each pixel with its strongest class where the score exceeds the
background threshold the run chose (``<work-dir>/eval/cams.json``) unless one is given.
This drew ``docs/toy_pipeline.png``.

Examples:
    python tools/analysis_tools/plot_pipeline_examples.py work_dirs/toy_demo --data-root data/toy \\
        --out docs/toy_pipeline.png
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.acr.datasets.toy_meta import TOY_PALETTE  # noqa: E402
from projects.acr.visualization.cam_overlay import save_overlay  # noqa: E402
from projects.acr.visualization.pipeline_examples import render_pipeline_examples  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', help='the pipeline work dir (cams/, pseudo_labels/)')
    parser.add_argument('--data-root', default='data/toy', help='dataset root')
    parser.add_argument('--split', default='train', help='image list to take images from')
    parser.add_argument('--num', type=int, default=6, help='images to show')
    parser.add_argument('--bg-thr', type=float, default=None,
                        help='background threshold of the map tiles (default: the run\'s '
                        'best, from eval/cams.json)')
    parser.add_argument('--groups', type=int, default=2, help='groups of four columns')
    parser.add_argument('--scale', type=int, default=2, help='magnification of the tiles')
    parser.add_argument('--out', default='pipeline_examples.png', help='PNG to write')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    thr = args.bg_thr
    if thr is None:
        summary = osp.join(args.work_dir, 'eval', 'cams.json')
        try:
            with open(summary, encoding='utf-8') as f:
                thr = float(json.load(f)['best_threshold'])
        except (OSError, KeyError, ValueError) as exc:
            sys.exit(f'{summary}: no best threshold to read ({exc}); pass --bg-thr')
    list_path = osp.join(args.data_root, 'ImageSets', 'Segmentation', f'{args.split}.txt')
    try:
        with open(list_path, encoding='utf-8') as f:
            img_ids = f.read().split()[:args.num]
    except OSError as exc:
        sys.exit(f'{list_path}: cannot read the image list ({exc})')
    picture = render_pipeline_examples(args.work_dir, args.data_root, img_ids, TOY_PALETTE,
                                       thr, groups=args.groups, scale=args.scale)
    save_overlay(args.out, picture)
    print(f'{len(img_ids)} images at background threshold {thr:.2f} -> {args.out}')


if __name__ == '__main__':
    main()
