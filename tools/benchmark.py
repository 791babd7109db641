"""Speed and memory of the ACR model's two hot paths, as ratios measured in one run.

1. Training step: ACRClassifier (two views, attention recorded, ACR loss) against the
   same timm ViT run plainly on the same two views (classification loss only).
2. GETAM: all present classes in one vectorised backward pass against one backward pass
   per class.

Examples:
    python tools/benchmark.py                                   # tiny ViT on CPU, seconds
    python tools/benchmark.py --arch vit_base_patch16_384 --img-size 384 --batch 2 \\
        --device cuda --classes 3

Figures are medians over --repeats timed runs after --warmup runs. Machines that are
shared give noisy absolute times; the ratios, measured back to back, are what to compare.
"""
import argparse
import os.path as osp
import statistics
import sys
import time
from typing import Callable, Dict

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import timm  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402

import projects.acr  # noqa: F401,E402  (registers the components)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='vit_tiny_patch16_224', help='timm model name')
    parser.add_argument('--img-size', type=int, default=96)
    parser.add_argument('--patch-size', type=int, default=None,
                        help='override the patch size (the toy recipe uses 8)')
    parser.add_argument('--depth', type=int, default=None, help='override the depth')
    parser.add_argument('--batch', type=int, default=8, help='images per step (x2 views)')
    parser.add_argument('--num-classes', type=int, default=20)
    parser.add_argument('--classes', type=int, default=3, help='classes mapped by GETAM')
    parser.add_argument('--start-layer', type=int, default=None,
                        help='first GETAM block (default: depth - 2)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    return parser.parse_args()


def timed(fn: Callable[[], None], device: torch.device, warmup: int,
          repeats: int) -> Dict[str, float]:
    """Median seconds of ``fn`` and, on CUDA, its peak memory in MiB."""
    for _ in range(warmup):
        fn()
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    out = dict(seconds=statistics.median(times))
    if device.type == 'cuda':
        out['peak_mib'] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main() -> None:
    args = parse_args()
    init_default_scope('mmseg')
    device = torch.device(args.device)
    torch.manual_seed(0)
    timm_kwargs = dict(img_size=args.img_size)
    if args.patch_size:
        timm_kwargs['patch_size'] = args.patch_size
    if args.depth:
        timm_kwargs['depth'] = args.depth
    plain = timm.create_model(args.arch, pretrained=False, num_classes=args.num_classes,
                              dynamic_img_size=True, **timm_kwargs).to(device)
    depth = len(plain.blocks)
    start_layer = args.start_layer if args.start_layer is not None else max(0, depth - 2)
    model = MODELS.build(
        dict(type='ACRClassifier',
             data_preprocessor=dict(type='MultiViewDataPreprocessor',
                                    size_divisor=args.patch_size or 16),
             backbone=dict(type='AttentionViT', arch=args.arch, pretrained=False,
                           drop_path_rate=0.0, timm_kwargs=timm_kwargs),
             head=dict(type='CAMHead', num_classes=args.num_classes, start_layer=start_layer),
             acr_loss=dict(type='ACRLoss', loss_weight=125.0))).to(device)

    b, s, c = args.batch, args.img_size, args.num_classes
    views = torch.randn(b, 2, 3, s, s, device=device)
    labels = torch.zeros(b, c, device=device)
    labels[:, :args.classes] = 1
    samples = []
    for _ in range(b):
        sample = SegDataSample()
        sample.set_metainfo(dict(img_labels=labels[0].cpu().numpy(), view_flip=True))
        samples.append(sample)

    def acr_step() -> None:
        losses = model.loss(views, samples)
        sum(losses.values()).backward()
        model.zero_grad(set_to_none=True)

    def plain_step() -> None:
        logits = plain(views.flatten(0, 1))
        F.multilabel_soft_margin_loss(logits, labels.repeat_interleave(2, 0)).backward()
        plain.zero_grad(set_to_none=True)

    class_ids = torch.arange(args.classes, device=device)
    model.eval()

    def getam(batched: bool) -> Callable[[], None]:
        def run() -> None:
            with torch.enable_grad():
                out = model.backbone(views[:, 0])
                logits = model.head(out.cls_token)
                model.head.getam(logits, out, class_ids, batched=batched)
        return run

    results = {}
    results['plain timm step'] = timed(plain_step, device, args.warmup, args.repeats)
    model.train()
    results['ACR step'] = timed(acr_step, device, args.warmup, args.repeats)
    model.eval()
    results['GETAM per class'] = timed(getam(False), device, args.warmup, args.repeats)
    results['GETAM batched'] = timed(getam(True), device, args.warmup, args.repeats)

    print(f'{args.arch} img {s} batch {b} (x2 views) on {device}, '
          f'{torch.get_num_threads()} CPU threads, GETAM over {args.classes} classes '
          f'from block {start_layer}')
    print('| path | median s | peak MiB |')
    print('|---|---:|---:|')
    for name, r in results.items():
        mem = f'{r["peak_mib"]:.0f}' if 'peak_mib' in r else '-'
        print(f'| {name} | {r["seconds"]:.4f} | {mem} |')
    ratio = results['ACR step']['seconds'] / results['plain timm step']['seconds']
    speedup = results['GETAM per class']['seconds'] / results['GETAM batched']['seconds']
    print(f'ACR step / plain step: {ratio:.2f}x;  GETAM batched speed-up: {speedup:.2f}x')


if __name__ == '__main__':
    main()
