"""Convert weights trained by ToCo's own code (rulixiang/ToCo) to this toolkit's layout, or back.

Examples:
    # ToCo -> ours; then tools/test.py or load_from take it
    python tools/model_converters/toco_official.py model_iter_20000.pth work_dirs/toco/deit-b.pth \\
        --config configs/toco/deit-b_voc.py
    python tools/test.py configs/toco/deit-b_voc_ms-crf-test.py work_dirs/toco/deit-b.pth

    # ours -> ToCo (what its tools/infer_seg_voc.py loads)
    python tools/model_converters/toco_official.py work_dirs/deit-b_voc/iter_20000.pth toco.pth \\
        --reverse
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from projects.acr.utils import allow_mmengine_checkpoints, atomic_open  # noqa: E402
from projects.toco.checkpoint import ours_to_toco, toco_to_ours  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert a ToCo checkpoint (encoder.*, classifier, aux_classifier, "
        'decoder.*, proj_head*, with or without module.) to ours, or ours to ToCo\'s')
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument('--reverse', action='store_true', help='ours -> ToCo instead')
    parser.add_argument('--config', help="(ToCo -> ours) check that the weights fit this "
                        "config's model exactly")
    return parser.parse_args()


def check_against_config(state, config: str) -> None:
    """Loads ``state`` strictly into the model of ``config``; raises naming what differs."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    cfg = Config.fromfile(config)
    init_default_scope('mmseg')
    cfg.model.backbone.pretrained = False
    cfg.model.backbone.checkpoint = None
    import projects.toco  # noqa: F401
    model = MODELS.build(cfg.model)
    own = model.state_dict()
    problems = [f'missing {k}' for k in own if k not in state]
    problems += [f'unexpected {k}' for k in state if k not in own]
    problems += [f'{k}: shape {tuple(state[k].shape)}, the model has {tuple(own[k].shape)}'
                 for k in own if k in state and state[k].shape != own[k].shape]
    if problems:
        raise ValueError(f'the converted weights do not fit the model of {config}:\n  ' +
                         '\n  '.join(problems[:20]))
    print(f'checked against {config}: every weight found, shapes match')


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'checkpoint not found: {args.src}')
    allow_mmengine_checkpoints()
    obj = torch.load(args.src, map_location='cpu', weights_only=True)
    if args.reverse:
        out = ours_to_toco(obj, args.src)
    else:
        state = toco_to_ours(obj, args.src)
        if args.config:
            check_against_config(state, args.config)
        out = dict(state_dict=state, meta=dict(converted_from=osp.abspath(args.src)))
    with atomic_open(args.dst, 'wb') as f:
        torch.save(out, f)
    print(f'{args.src}: {len(out.get("state_dict", out))} tensors written to {args.dst}')


if __name__ == '__main__':
    main()
