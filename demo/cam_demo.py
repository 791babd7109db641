"""Class maps of an image (or of every image of a folder) drawn over the picture.

The classes to map are named with --classes, or predicted by the classifier (probability
above --score-thr, by default model.test_cfg.score_thr). The maps are computed with the
config's test-time settings (model.test_cfg: scales, flip, affinity refinement; the test
pipeline of the config's test dataset).

Examples:
    python demo/cam_demo.py dog.jpg configs/acr/vit_voc.py epoch_10.pth --out dog_cams.png
    python demo/cam_demo.py dog.jpg CONFIG CKPT --classes dog person --out vis.png \\
        --out-maps maps.npz
    python demo/cam_demo.py photos/ CONFIG CKPT --score-thr 0.3 --out vis/ --out-maps maps/

With a folder, --out and --out-maps are folders receiving <image stem>.png / .npz.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

from projects.acr.apis import ImageCAMInferencer, list_images  # noqa: E402
from projects.acr.visualization import OVERLAY_MODES  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('image', help='image file or folder of images')
    parser.add_argument('config', help='config of the class-map model')
    parser.add_argument('checkpoint', help='its trained checkpoint')
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--classes', nargs='+', metavar='NAME',
                       help='classes to map (names of the config\'s dataset)')
    which.add_argument('--score-thr', type=float,
                       help='without --classes: map the classes whose probability exceeds '
                       'this (default: model.test_cfg.score_thr)')
    parser.add_argument('--out', required=True,
                        help='overlay PNG (a folder when IMAGE is a folder)')
    parser.add_argument('--out-maps', help='also write the maps as .npz (a folder when IMAGE '
                        'is a folder)')
    parser.add_argument('--mode', choices=OVERLAY_MODES, default='argmax',
                        help='argmax: image tinted by the strongest class; heatmap: one heat '
                        'map per class next to the image (default: %(default)s)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0 (default: cpu)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config keys, e.g. model.test_cfg.scales="(1.0,0.5)"')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    images = list_images(args.image)
    folder = osp.isdir(args.image)
    if not folder and osp.isdir(args.out):
        raise IsADirectoryError(f'--out {args.out} is a folder; give the PNG file to write')
    inferencer = ImageCAMInferencer(args.config, args.checkpoint, device=args.device,
                                    cfg_options=args.cfg_options, score_thr=args.score_thr)
    preds = inferencer(images, classes=args.classes)
    for path, pred in zip(images, preds):
        stem = osp.splitext(osp.basename(path))[0]
        out = osp.join(args.out, stem + '.png') if folder else args.out
        out_maps = None
        if args.out_maps:
            out_maps = osp.join(args.out_maps, stem + '.npz') if folder else args.out_maps
        inferencer.save(pred, out, out_maps, mode=args.mode)
        found = ', '.join(f'{n} ({pred.scores[i]:.2f})'
                          for n, i in zip(pred.class_names, pred.class_ids)) or 'no class'
        print(f'{path}: {found} -> {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
