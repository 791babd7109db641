"""Pretrain the toy ViT on a generated corpus disjoint from the toy images; export its weights.

The toy recipe's stand-in for ImageNet weights: a corpus of toy images from another
generator seed (only its image-level labels are used), a plain classifier trained on it
(configs/pretrain/vit-tiny_toy-pretrain.py), and the backbone saved in timm's layout. Finished
steps are skipped. Load the result as any pretrained weights:

    python tools/misc/pretrain_toy.py
    python tools/train.py configs/acr/vit-tiny_toy.py --cfg-options \
        model.backbone.checkpoint=work_dirs/toy_pretrain/vit-tiny_toy-pretrained.pth
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pretrain the toy ViT on a disjoint generated corpus and export it',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--out', default='work_dirs/toy_pretrain/vit-tiny_toy-pretrained.pth',
                        help='the exported backbone weights')
    parser.add_argument('--corpus-root', default='data/toy_pretrain', help='corpus folder')
    parser.add_argument('--num-images', type=int, default=2000, help='corpus size')
    parser.add_argument('--corpus-seed', type=int, default=1,
                        help='generator seed of the corpus (the toy dataset uses 0)')
    parser.add_argument('--toy-root', nargs='*', default=['data/toy'],
                        help='toy datasets the corpus must not overlap')
    parser.add_argument('--config', default='configs/pretrain/vit-tiny_toy-pretrain.py',
                        help='pretraining config')
    parser.add_argument('--work-dir', default='work_dirs/toy_pretrain',
                        help='work dir of the pretraining')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='overrides of the pretraining config')
    parser.add_argument('--force', action='store_true', help='retrain and re-export')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from projects.acr.toy_data.pretraining import pretrain_toy_backbone
    path = pretrain_toy_backbone(args.out, corpus_root=args.corpus_root,
                                 num_images=args.num_images, corpus_seed=args.corpus_seed,
                                 toy_roots=args.toy_root, config=args.config,
                                 work_dir=args.work_dir, cfg_options=args.cfg_options,
                                 force=args.force)
    print(f'pretrained toy backbone: {path}')


if __name__ == '__main__':
    main()
