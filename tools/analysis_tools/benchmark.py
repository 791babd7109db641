"""Speed, utilisation and memory of ACR: training step (fp32, bf16), class maps, evaluation.

One run measures the device's GEMM peak (fp32 and bf16), then times the workloads in
turns (A, B, C, A, B, C, ...) so that a slow phase of a shared machine hits every side
of a ratio alike, and reports per workload the counted model FLOPs, the achieved FLOP/s,
the utilisation against the peak (MFU), images/s and peak memory. Only the precisions
the workloads use are measured. On a CPU without native bf16 (no AVX512-BF16, AMX or Arm
BF16) the default set leaves the bf16 training step out, with a line saying so; name it
in --workloads to measure it anyway. The JSON record names the CPU's capability.

Examples:
    python tools/analysis_tools/benchmark.py                          # ViT-B/16 at 384 px on CPU
    python tools/analysis_tools/benchmark.py --device cuda --batch 4 --json bench_gpu.json
    python tools/analysis_tools/benchmark.py --workloads train_fp32 train_bf16 timm_fp32 --repeats 5
    python tools/analysis_tools/benchmark.py --config configs/acr/vit-tiny_toy.py --img-size 96
    python tools/analysis_tools/benchmark.py --config configs/acr/vit-tiny_toy.py --loss-curve 60
"""
import argparse
import logging
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

from projects.acr import benchmark  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default='configs/acr/vit_voc.py',
                        help='stage-1 config whose model and test_cfg are measured')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda' ('cuda:N')")
    parser.add_argument('--img-size', type=int, default=384, help='crop / input size')
    parser.add_argument('--batch', type=int, default=1,
                        help='images per training step (two views each)')
    parser.add_argument('--classes', type=int, default=2,
                        help='classes annotated per image (mapped by GETAM)')
    parser.add_argument('--workloads', nargs='+', default=None,
                        choices=list(benchmark.WORKLOADS),
                        help='what to measure (default: '
                        f"{' '.join(benchmark.DEFAULT_WORKLOADS)}, without the bf16 ones "
                        'on a device without native bf16)')
    parser.add_argument('--repeats', type=int, default=3, help='timed rounds')
    parser.add_argument('--warmup', type=int, default=1, help='untimed rounds first')
    parser.add_argument('--eval-images', type=int, default=1464,
                        help='images of the evaluated split (VOC train: 1464)')
    parser.add_argument('--eval-thresholds', type=int, default=100,
                        help='background thresholds swept: 0, 1/T, ..., (T-1)/T')
    parser.add_argument('--eval-workers', type=int, default=None,
                        help='worker processes of the CAM evaluation '
                        '(default: the CPUs, at most 8)')
    parser.add_argument('--gemm-size', type=int, default=None,
                        help='side of the square products of the GEMM peak '
                        '(2048 on CPU, 8192 on GPU)')
    parser.add_argument('--json', default=None, help='write the full record here')
    parser.add_argument('--loss-curve', type=int, metavar='STEPS', default=None,
                        help='instead of timing, train fp32 and bf16 copies of the '
                        '--config model for STEPS steps on the same batches and compare '
                        'their losses (e.g. --config configs/acr/vit-tiny_toy.py)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='overrides of the config, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.loss_curve:
        native, reason = benchmark.device_bf16(args.device)
        if not native:
            print_log(f'--loss-curve trains a bf16 copy on a device without native bf16 '
                      f'({reason}): it will take many times as long as the fp32 one',
                      logger='current', level=logging.WARNING)
        cfg = Config.fromfile(args.config)
        cfg.merge_from_dict(dict(args.cfg_options))
        result = benchmark.compare_loss_curves(cfg, args.loss_curve)
        print(benchmark.format_loss_curves(result))
        if args.json:
            benchmark.write_json(result, args.json)
            print(f'wrote {args.json}')
        return
    settings = benchmark.BenchmarkSettings(
        config=args.config, device=args.device, img_size=args.img_size, batch=args.batch,
        classes=args.classes,
        workloads=None if args.workloads is None else tuple(args.workloads),
        repeats=args.repeats,
        warmup=args.warmup, eval_images=args.eval_images,
        eval_thresholds=args.eval_thresholds, eval_workers=args.eval_workers,
        gemm_size=args.gemm_size,
        cfg_options=dict(args.cfg_options))
    record = benchmark.run_benchmark(settings)
    print(benchmark.format_markdown(record))
    if args.json:
        benchmark.write_json(record, args.json)
        print(f'wrote {args.json}')


if __name__ == '__main__':
    main()
