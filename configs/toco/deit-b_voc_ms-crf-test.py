# ToCo's test (tools/infer_seg_voc.py) of a deit-b_voc.py checkpoint: the decoder at scales
# 1.0, 1.5, 1.25 of the image at its own size, each with its mirror (logits added), the
# maximum over scales, then ToCo's dense CRF (utils/dcrf.py as infer_seg_voc.py builds it);
# needs pydensecrf (pip install pydensecrf2).
# `python tools/test.py configs/toco/deit-b_voc_ms-crf-test.py work_dirs/deit-b_voc/iter_20000.pth`
# Published (ToCo README): 69.8 VOC val (DeiT-B); vit-b_voc_ms-crf-test.py: 71.1.
_base_ = './deit-b_voc.py'
model = dict(test_cfg=dict(
    seg_scales=(1.0, 1.5, 1.25), seg_flip=True,
    # DenseCRF(iter_max=10, pos_xy_std=1, pos_w=1, bi_xy_std=121, bi_rgb_std=5, bi_w=4)
    crf=dict(_delete_=True, n_iters=10, gaussian_sxy=1.0, gaussian_compat=1.0,
             bilateral_sxy=121.0, bilateral_srgb=5.0, bilateral_compat=4.0)))
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadCheckedAnnotations'),
    dict(type='PackClsInputs'),
]))
# The decoder's mIoU (the class maps are scored too, at the native size).
test_evaluator = [dict(type='IoUMetric'), dict(type='CAMMetric', fixed_threshold=0.5)]
