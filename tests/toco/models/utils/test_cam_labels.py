"""Label utilities against references written as ToCo's utils/camutils.py writes them."""
import torch
from toco_reference import ref_aff, ref_cam_to_label, ref_refine, ref_roi

from projects.toco.models.utils import (PixelAdaptiveRefiner, box_mask, cam_to_label,
                                        cam_to_roi_mask, label_to_aff_mask,
                                        refine_cams_with_background)


def _inputs(seed=0, b=3, c=5, h=24, w=20):
    g = torch.Generator().manual_seed(seed)
    cams = torch.rand(b, c, h, w, generator=g)
    labels = (torch.rand(b, c, generator=g) > 0.5).float()
    labels[0] = 0
    labels[0, 2] = 1
    box = torch.tensor([[0, h, 0, w], [3, h - 2, 1, w], [0, 10, 5, 17]], dtype=torch.int16)
    return cams, labels, box[:b]


def test_cam_to_label_matches_official_with_and_without_box():
    cams, labels, box = _inputs()
    kw = dict(bkg_thre=0.5, high_thre=0.7, low_thre=0.25, ignore_index=255)
    ref = ref_cam_to_label(cams, labels, **kw)
    assert torch.equal(cam_to_label(cams, labels, bkg_thr=0.5), ref)
    _, ref_box = ref_cam_to_label(cams, labels, img_box=box, ignore_mid=True, **kw)
    out = cam_to_label(cams, labels, 0.5, 0.7, 0.25, ignore_mid=True, img_box=box)
    assert torch.equal(out, ref_box)
    assert set(out.unique().tolist()) <= {0, 255} | set(range(1, 6))


def test_box_in_pixels_on_a_small_grid_slices_as_official():
    # ToCo applies the pixel box to the token-grid label of the PTC loss as is.
    cams, labels, _ = _inputs(h=6, w=5)
    box = torch.tensor([[0, 448, 0, 448], [3, 448, 0, 300], [100, 448, 0, 448]])
    _, ref = ref_cam_to_label(cams, labels, img_box=box, ignore_mid=True, bkg_thre=0.5,
                              high_thre=0.7, low_thre=0.25, ignore_index=255)
    out = cam_to_label(cams, labels, 0.5, 0.7, 0.25, ignore_mid=True, img_box=box)
    assert torch.equal(out, ref)
    assert torch.all(out[2] == 255)
    assert box_mask(box, (6, 5))[1].sum() == 3 * 5


def test_roi_mask_and_affinity_match_official():
    cams, labels, box = _inputs(1)
    assert torch.equal(cam_to_roi_mask(cams, labels, 0.7, 0.25),
                       ref_roi(cams, labels, 0.7, 0.25).long())
    label = cam_to_label(cams, labels, 0.5, 0.7, 0.25, ignore_mid=True, img_box=box)
    assert torch.equal(label_to_aff_mask(label[:, :6, :5]), ref_aff(label[:, :6, :5]))


def test_refined_pseudo_labels_match_official():
    torch.manual_seed(3)
    cams, labels, box = _inputs(2, b=3, c=6, h=32, w=28)
    labels[1] = 0  # an image with background only
    images = torch.rand(3, 3, 32, 28)
    par = PixelAdaptiveRefiner(dilations=(1, 2, 4, 8, 12, 24), num_iter=10)
    cams = cams * labels[:, :, None, None]
    ref = ref_refine(par, images, cams, labels, 0.7, 0.25, 255, box)
    out = refine_cams_with_background(par, images, cams, labels, 0.7, 0.25, box)
    assert out.dtype == torch.long
    assert torch.equal(out, ref.long())
    assert (out == 0).any() and (out == 255).any()
