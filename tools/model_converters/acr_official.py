"""Convert weights trained by the official ACR code to this toolkit's layout, or back.

Examples:
    # official -> ours; then tools/test.py, tools/infer_cam.py or load_from take it
    python tools/model_converters/acr_official.py weight/acr_001_last.pth \\
        work_dirs/official/acr_001.pth --config configs/acr/vit-r50_voc.py
    python tools/test.py configs/acr/vit-r50_voc.py work_dirs/official/acr_001.pth

    # ours -> official (what DPT/ACR.py's load_state_dict takes)
    python tools/model_converters/acr_official.py work_dirs/vit-r50_voc/epoch_10.pth \\
        acr_official.pth --reverse
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from projects.acr.apis import official_checkpoint  # noqa: E402
from projects.acr.utils import allow_mmengine_checkpoints, atomic_open  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an official ACR checkpoint (keys pretrained.model.* and '
        'cls_head.*, with or without module.) to ours, or ours to the official layout')
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument('--reverse', action='store_true',
                        help='ours -> official instead of official -> ours')
    parser.add_argument('--config', help='(official -> ours) check that every weight of this '
                        "config's model is found, with the right shape")
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value overrides of --config')
    return parser.parse_args()


def _check_against_config(state, config: str, options) -> None:
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from projects.acr.apis import state_dict_mismatch

    cfg = Config.fromfile(config)
    if options:
        action = DictAction(option_strings=['--cfg-options'], dest='o')
        ns = argparse.Namespace()
        action(None, ns, options)
        cfg.merge_from_dict(ns.o)
    init_default_scope('mmseg')
    model_cfg = cfg.model
    model_cfg.backbone.pretrained = False  # the converted file brings the weights
    model_cfg.backbone.checkpoint = None
    model = MODELS.build(model_cfg)
    problems = state_dict_mismatch(model.state_dict(), state)
    if problems:
        raise ValueError(f'the converted weights do not fit the model of {config}:\n  ' +
                         '\n  '.join(problems))
    print(f'checked against {config}: every weight found, shapes match')


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'checkpoint not found: {args.src}')
    allow_mmengine_checkpoints()  # our checkpoints carry a few mmengine objects
    obj = torch.load(args.src, map_location='cpu', weights_only=True)
    if args.reverse:
        out = official_checkpoint.ours_to_official(obj, args.src)
        print(f'{args.src}: {len(out)} tensors in the official layout')
    else:
        conv = official_checkpoint.official_to_ours(obj, args.src)
        config, arch = official_checkpoint.OFFICIAL_BACKBONES[conv.backbone]
        hint = ' (or configs/acr/deit_voc.py for DeiT-B weights)' if conv.backbone == 'vitb' \
            else ''
        print(f'{args.src}: backbone {conv.backbone} ({arch}), {conv.num_classes} classes, '
              f'{len(conv.state_dict)} tensors; {len(conv.dropped)} unused official tensors '
              f'left out (DPT decoder layers, timm\'s ImageNet head)')
        print(f'matching config: {config}{hint}'
              f'{" with head.num_classes=80 (COCO)" if conv.num_classes == 80 else ""}')
        if args.config:
            _check_against_config(conv.state_dict, args.config, args.cfg_options)
        out = dict(state_dict=conv.state_dict,
                   meta=dict(converted_from=osp.abspath(args.src), official_backbone=conv.backbone))
    with atomic_open(args.dst, 'wb') as f:
        torch.save(out, f)
    print(f'written to {args.dst}')


if __name__ == '__main__':
    main()
