"""The toy demo: the whole weakly supervised pipeline on CPU, in minutes.

    1. make the synthetic toy dataset (VOC tree, 600 train + 100 val images of 96 px);
    2. train ACR (a tiny ViT from scratch) on image-level labels only;
    3. GETAM class maps of the training images, pseudo labels from them, and the mIoU of
       both against the true masks;
    4. train a small DeepLabV2 on the pseudo labels and evaluate it on the val masks.

    python tools/demo.py                          # what `make demo` runs
    python tools/demo.py --work-dir work_dirs/toy_noacr \\
        --stage1-options model.acr_loss.loss_weight=0       # the same without ACR

Finished steps are not repeated: a second run only prints the report (--force STEP
reruns a step). The report is also in WORK_DIR/report.md.
"""
import argparse
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.acr.pipeline import PipelineSettings, run_pipeline  # noqa: E402
from projects.acr.pipeline.report_logger import log_report_to_wandb  # noqa: E402
from projects.acr.toy_data import make_toy_dataset  # noqa: E402

STAGE1 = 'configs/acr/vit-tiny_toy.py'
STAGE2 = 'configs/seg/deeplabv2_r18-d8_1xb8-1k_toy-pseudo-96x96.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', default='data/toy', help='toy dataset location')
    parser.add_argument('--work-dir', default='work_dirs/toy_demo')
    parser.add_argument('--seed', type=int, default=0, help='seed of data and training')
    parser.add_argument('--stage1-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='--cfg-options of the ACR training')
    parser.add_argument('--stage2-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='--cfg-options of the segmenter training')
    parser.add_argument('--force', nargs='+', default=[], help='rerun these steps')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    # Tiny tensors: more threads than cores only add contention (the subprocesses inherit it).
    os.environ.setdefault('OMP_NUM_THREADS', str(min(2, os.cpu_count() or 1)))
    summary = make_toy_dataset(args.data_root, seed=args.seed)
    print(f'[demo] toy dataset ready at {args.data_root}: {summary}', flush=True)
    settings = PipelineSettings(
        stage1_config=STAGE1,
        stage2_config=STAGE2,
        work_dir=args.work_dir,
        data_root=args.data_root,
        cam_split='train_aug',
        eval_split='train',
        stage1_options=args.stage1_options,
        stage2_options=args.stage2_options,
        # Thresholds of the toy maps (the CAM sweep puts the best single one at 0.65) with
        # the band between them ignored, and the CRF's bilateral radius scaled from
        # AffinityNet's 80 px on 500 px photos to these 96 px images.
        pseudo_label_args=['--mode', 'threshold', '--bg-thr', '0.5', '0.75',
                           '--crf-bi-sxy', '20', '--workers', str(min(2, os.cpu_count() or 1))],
        seed=args.seed)
    figures = run_pipeline(settings, force=args.force)
    log_report_to_wandb(settings, figures)

    def fmt(key: str) -> str:
        value = figures.get(key)
        return '-' if value is None else f'{value:.2f}%'

    print(f'[demo] done in {(time.time() - start) / 60:.1f} min')
    print(f'[demo] CAM mIoU (toy val, stage-1 training): {fmt("val_cam_mIoU")}')
    print(f'[demo] CAM mIoU (toy train):                  {fmt("cam_mIoU")} at background '
          f'threshold {figures.get("cam_best_threshold")}')
    print(f'[demo] pseudo-label mIoU (toy train):         {fmt("pseudo_label_mIoU")}')
    print(f'[demo] segmentation mIoU (toy val):           {fmt("segmentation_mIoU")}')


if __name__ == '__main__':
    main()
