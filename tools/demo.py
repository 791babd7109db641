"""The toy demo: make the synthetic dataset, train ACR on CPU, evaluate its class maps.

    python tools/demo.py                       # what `make demo` runs
    python tools/demo.py --cfg-options model.acr_loss.loss_weight=0   # ACR off

A finished run is not repeated: when the work dir already holds the final checkpoint the
demo only evaluates it (use --retrain to train again).
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from projects.acr.datasets.toy_generator import make_toy_dataset  # noqa: E402
from projects.acr.utils import prepare_runtime  # noqa: E402

DEFAULT_CONFIG = 'configs/acr/vit-tiny_toy.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='toy config')
    parser.add_argument('--data-root', default='data/toy', help='toy dataset location')
    parser.add_argument('--work-dir', default='work_dirs/toy_demo')
    parser.add_argument('--seed', type=int, default=0, help='seed of data and training')
    parser.add_argument('--retrain', action='store_true',
                        help='train even if the final checkpoint exists')
    parser.add_argument('--amp', action='store_true', help='bf16 mixed precision on CPU')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    summary = make_toy_dataset(args.data_root, seed=args.seed)
    print(f'[demo] toy dataset ready at {args.data_root}: {summary}')

    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    cfg.randomness = dict(seed=args.seed)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = args.data_root
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    prepare_runtime(cfg, amp=args.amp)

    final = osp.join(args.work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    if osp.isfile(final) and not args.retrain:
        print(f'[demo] {final} exists: evaluating it (use --retrain to train again)')
        cfg.load_from = final
        runner = Runner.from_cfg(cfg)
    else:
        runner = Runner.from_cfg(cfg)
        runner.train()
    metrics = runner.test()
    minutes = (time.time() - start) / 60
    print('\n[demo] class-map quality on the toy val split '
          f'({len(runner.test_dataloader.dataset)} images):')
    print(f"[demo]   CAM mIoU {metrics['cam/mIoU']:.2f}% at background threshold "
          f"{metrics['cam/best_threshold']:.2f}  ({minutes:.1f} min in all)")


if __name__ == '__main__':
    main()
