"""Label utilities against references written as ToCo's utils/camutils.py writes them."""
import torch
import torch.nn.functional as F

from projects.toco.models.utils import (PixelAdaptiveRefiner, box_mask, cam_to_label,
                                        cam_to_roi_mask, label_to_aff_mask,
                                        refine_cams_with_background)


def _ref_cam_to_label(cam, cls_label, img_box=None, bkg_thre=None, high_thre=None,
                      low_thre=None, ignore_mid=False, ignore_index=None):
    b, c, h, w = cam.shape
    cls_label_rep = cls_label.unsqueeze(-1).unsqueeze(-1).repeat([1, 1, h, w])
    valid_cam = cls_label_rep * cam
    cam_value, _pseudo_label = valid_cam.max(dim=1, keepdim=False)
    _pseudo_label += 1
    _pseudo_label[cam_value <= bkg_thre] = 0
    if img_box is None:
        return _pseudo_label
    if ignore_mid:
        _pseudo_label[cam_value <= high_thre] = ignore_index
        _pseudo_label[cam_value <= low_thre] = 0
    pseudo_label = torch.ones_like(_pseudo_label) * ignore_index
    for idx, coord in enumerate(img_box):
        pseudo_label[idx, coord[0]:coord[1], coord[2]:coord[3]] = \
            _pseudo_label[idx, coord[0]:coord[1], coord[2]:coord[3]]
    return valid_cam, pseudo_label


def _ref_roi(cam, cls_label, hig_thre, low_thre):
    b, c, h, w = cam.shape
    valid_cam = cls_label.unsqueeze(-1).unsqueeze(-1).repeat([1, 1, h, w]) * cam
    cam_value, _ = valid_cam.max(dim=1, keepdim=False)
    roi_mask = torch.ones_like(cam_value, dtype=torch.int16)
    roi_mask[cam_value <= low_thre] = 0
    roi_mask[cam_value >= hig_thre] = 2
    return roi_mask


def _ref_aff(cam_label, ignore_index=255):
    b, h, w = cam_label.shape
    _cam_label = cam_label.reshape(b, 1, -1)
    _cam_label_rep = _cam_label.repeat([1, _cam_label.shape[-1], 1])
    _cam_label_rep_t = _cam_label_rep.permute(0, 2, 1)
    aff_label = (_cam_label_rep == _cam_label_rep_t).type(torch.long)
    for i in range(b):
        aff_label[i, :, _cam_label_rep[i, 0, :] == ignore_index] = ignore_index
        aff_label[i, _cam_label_rep[i, 0, :] == ignore_index, :] = ignore_index
    aff_label[:, range(h * w), range(h * w)] = ignore_index
    return aff_label


def _ref_refine(ref_mod, images, cams, cls_labels, high_thre, low_thre, ignore_index,
                img_box, down_scale=2):
    b, _, h, w = images.shape
    _images = F.interpolate(images, size=[h // down_scale, w // down_scale], mode='bilinear',
                            align_corners=False)
    bkg_h = torch.ones(size=(b, 1, h, w)) * high_thre
    bkg_l = torch.ones(size=(b, 1, h, w)) * low_thre
    cls_labels = torch.cat((torch.ones(size=(b, 1)), cls_labels), dim=1)
    refined_label = torch.ones(size=(b, h, w)) * ignore_index
    refined_label_h = refined_label.clone()
    refined_label_l = refined_label.clone()
    size = [h // down_scale, w // down_scale]
    _h = F.interpolate(torch.cat((bkg_h, cams), dim=1), size=size, mode='bilinear',
                       align_corners=False)
    _l = F.interpolate(torch.cat((bkg_l, cams), dim=1), size=size, mode='bilinear',
                       align_corners=False)

    def _refine(cams_, valid_key):
        refined = ref_mod(_images[[idx], ...], cams_)
        refined = F.interpolate(refined, size=(h, w), mode='bilinear', align_corners=False)
        return valid_key[refined.argmax(dim=1)]

    for idx, coord in enumerate(img_box):
        valid_key = torch.nonzero(cls_labels[idx, ...])[:, 0]
        lab_h = _refine(_h[idx, valid_key, ...].unsqueeze(0).softmax(dim=1), valid_key)
        lab_l = _refine(_l[idx, valid_key, ...].unsqueeze(0).softmax(dim=1), valid_key)
        refined_label_h[idx, coord[0]:coord[1], coord[2]:coord[3]] = \
            lab_h[0, coord[0]:coord[1], coord[2]:coord[3]].float()
        refined_label_l[idx, coord[0]:coord[1], coord[2]:coord[3]] = \
            lab_l[0, coord[0]:coord[1], coord[2]:coord[3]].float()
    refined_label = refined_label_h.clone()
    refined_label[refined_label_h == 0] = ignore_index
    refined_label[(refined_label_h + refined_label_l) == 0] = 0
    return refined_label


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
    ref = _ref_cam_to_label(cams, labels, **kw)
    assert torch.equal(cam_to_label(cams, labels, bkg_thr=0.5), ref)
    _, ref_box = _ref_cam_to_label(cams, labels, img_box=box, ignore_mid=True, **kw)
    out = cam_to_label(cams, labels, 0.5, 0.7, 0.25, ignore_mid=True, img_box=box)
    assert torch.equal(out, ref_box)
    assert set(out.unique().tolist()) <= {0, 255} | set(range(1, 6))


def test_box_in_pixels_on_a_small_grid_slices_as_official():
    # ToCo applies the pixel box to the token-grid label of the PTC loss as is.
    cams, labels, _ = _inputs(h=6, w=5)
    box = torch.tensor([[0, 448, 0, 448], [3, 448, 0, 300], [100, 448, 0, 448]])
    _, ref = _ref_cam_to_label(cams, labels, img_box=box, ignore_mid=True, bkg_thre=0.5,
                               high_thre=0.7, low_thre=0.25, ignore_index=255)
    out = cam_to_label(cams, labels, 0.5, 0.7, 0.25, ignore_mid=True, img_box=box)
    assert torch.equal(out, ref)
    assert torch.all(out[2] == 255)
    assert box_mask(box, (6, 5))[1].sum() == 3 * 5


def test_roi_mask_and_affinity_match_official():
    cams, labels, box = _inputs(1)
    assert torch.equal(cam_to_roi_mask(cams, labels, 0.7, 0.25),
                       _ref_roi(cams, labels, 0.7, 0.25).long())
    label = cam_to_label(cams, labels, 0.5, 0.7, 0.25, ignore_mid=True, img_box=box)
    assert torch.equal(label_to_aff_mask(label[:, :6, :5]), _ref_aff(label[:, :6, :5]))


def test_refined_pseudo_labels_match_official():
    torch.manual_seed(3)
    cams, labels, box = _inputs(2, b=3, c=6, h=32, w=28)
    labels[1] = 0  # an image with background only
    images = torch.rand(3, 3, 32, 28)
    par = PixelAdaptiveRefiner(dilations=(1, 2, 4, 8, 12, 24), num_iter=10)
    cams = cams * labels[:, :, None, None]
    ref = _ref_refine(par, images, cams, labels, 0.7, 0.25, 255, box)
    out = refine_cams_with_background(par, images, cams, labels, 0.7, 0.25, box)
    assert out.dtype == torch.long
    assert torch.equal(out, ref.long())
    assert (out == 0).any() and (out == 255).any()
