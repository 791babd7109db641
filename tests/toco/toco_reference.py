"""ToCo's functions as its official code writes them (model/PAR.py, model/losses.py,
utils/camutils.py), the references of the fidelity tests."""
import copy

import numpy as np
import torch
import torch.nn.functional as F


def ref_kernel():
    weight = torch.zeros(8, 1, 3, 3)
    for i, (r, c) in enumerate([(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1),
                                (2, 2)]):
        weight[i, 0, r, c] = 1
    return weight


def ref_neighbours(x, dilations, kernel):
    b, c, h, w = x.shape
    out = []
    for d in dilations:
        pad = F.pad(x, [d] * 4, mode='replicate', value=0)
        pad = pad.reshape(b * c, -1, pad.shape[-2], pad.shape[-1])
        out.append(F.conv2d(pad, kernel, dilation=d).view(b, c, -1, h, w))
    return torch.cat(out, dim=2)


def ref_par(imgs, masks, dilations, num_iter):
    kernel = ref_kernel()
    ker = torch.ones(1, 1, 8, 1, 1)
    for i in (0, 2, 5, 7):
        ker[0, 0, i, 0, 0] = np.sqrt(2)
    pos = torch.cat([ker * d for d in dilations], dim=2)
    masks = F.interpolate(masks, size=imgs.size()[-2:], mode='bilinear', align_corners=True)
    b, c, h, w = imgs.shape
    _imgs = ref_neighbours(imgs, dilations, kernel)
    _imgs_rep = imgs.unsqueeze(2).repeat(1, 1, _imgs.shape[2], 1, 1)
    _pos_rep = pos.repeat(b, 1, 1, h, w)
    _imgs_abs = torch.abs(_imgs - _imgs_rep)
    _imgs_std = torch.std(_imgs, dim=2, keepdim=True)
    _pos_std = torch.std(_pos_rep, dim=2, keepdim=True)
    aff = -(_imgs_abs / (_imgs_std + 1e-8) / 0.3)**2
    aff = aff.mean(dim=1, keepdim=True)
    pos_aff = -(_pos_rep / (_pos_std + 1e-8) / 0.3)**2
    aff = F.softmax(aff, dim=2) + 0.01 * F.softmax(pos_aff, dim=2)
    for _ in range(num_iter):
        _masks = ref_neighbours(masks, dilations, kernel)
        masks = (_masks * aff).sum(2)
    return masks


def ref_cam_to_label(cam, cls_label, img_box=None, bkg_thre=None, high_thre=None,
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


def ref_roi(cam, cls_label, hig_thre, low_thre):
    b, c, h, w = cam.shape
    valid_cam = cls_label.unsqueeze(-1).unsqueeze(-1).repeat([1, 1, h, w]) * cam
    cam_value, _ = valid_cam.max(dim=1, keepdim=False)
    roi_mask = torch.ones_like(cam_value, dtype=torch.int16)
    roi_mask[cam_value <= low_thre] = 0
    roi_mask[cam_value >= hig_thre] = 2
    return roi_mask


def ref_aff(cam_label, ignore_index=255):
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


def ref_refine(ref_mod, images, cams, cls_labels, high_thre, low_thre, ignore_index,
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


def ref_ptc(inputs, mask):
    b, c, h, w = inputs.shape
    inputs = inputs.reshape(b, c, h * w)

    def cos_sim(x):
        x = F.normalize(x, p=2, dim=1, eps=1e-8)
        return torch.abs(torch.matmul(x.transpose(1, 2), x))

    inputs_cos = cos_sim(inputs)
    pos_mask = mask == 1
    neg_mask = mask == 0
    return 0.5 * (1 - torch.sum(pos_mask * inputs_cos) / (pos_mask.sum() + 1)) \
        + 0.5 * torch.sum(neg_mask * inputs_cos) / (neg_mask.sum() + 1)


def ref_seg(pred, label, ignore_index=255):
    bg_label = label.clone()
    bg_label[label != 0] = ignore_index
    bg_loss = F.cross_entropy(pred, bg_label.type(torch.long), ignore_index=ignore_index)
    fg_label = label.clone()
    fg_label[label == 0] = ignore_index
    fg_loss = F.cross_entropy(pred, fg_label.type(torch.long), ignore_index=ignore_index)
    return (bg_loss + fg_loss) * 0.5


def ref_ctc(student_output, teacher_output, flags, ncrops, temp):
    b = flags.shape[0]
    student_out = student_output.reshape(ncrops, b, -1).permute(1, 0, 2)
    teacher_out = teacher_output.reshape(2, b, -1).permute(1, 0, 2)
    logits = torch.matmul(teacher_out, student_out.permute(0, 2, 1))
    logits = torch.exp(logits / temp)
    total_loss = 0
    for i in range(b):
        neg_logits = logits[i, :, flags[i] == 0]
        pos_inds = torch.nonzero(flags[i])[:, 0]
        loss = 0
        for j in pos_inds:
            pos_logit = logits[i, :, j]
            loss += -torch.log((pos_logit) / (pos_logit + neg_logits.sum(dim=1) + 1e-4))
        else:
            loss += -torch.log((1) / (1 + neg_logits.sum(dim=1) + 1e-4))
        total_loss += loss.sum() / 2 / (pos_inds.shape[0] + 1e-4)
    return total_loss / b


def ref_crop_from_roi_neg(images, roi_mask=None, crop_num=8, crop_size=96):
    b, c, h, w = images.shape
    temp_crops = torch.zeros(size=(b, crop_num, c, crop_size, crop_size))
    flags = torch.ones(size=(b, crop_num + 2))
    margin = crop_size // 2
    for i1 in range(b):
        roi_index = (roi_mask[i1, margin:(h - margin), margin:(w - margin)] <= 1).nonzero()
        if roi_index.shape[0] < crop_num:
            roi_index = (roi_mask[i1, margin:(h - margin), margin:(w - margin)] >= 0).nonzero()
        rand_index = torch.randperm(roi_index.shape[0])
        crop_index = roi_index[rand_index[:crop_num], :]
        for i2 in range(crop_num):
            h0, w0 = crop_index[i2, 0], crop_index[i2, 1]
            temp_crops[i1, i2, ...] = images[i1, :, h0:(h0 + crop_size), w0:(w0 + crop_size)]
            temp_mask = roi_mask[i1, h0:(h0 + crop_size), w0:(w0 + crop_size)]
            if temp_mask.sum() / (crop_size * crop_size) <= 0.2:
                flags[i1, i2 + 2] = 0
    _crops = torch.chunk(temp_crops, chunks=crop_num, dim=1)
    return [c[:, 0] for c in _crops], flags


def ref_denormalize_img2(imgs, mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)):
    _imgs = torch.zeros_like(imgs)
    for i in range(3):
        _imgs[:, i, :, :] = imgs[:, i, :, :] * std[i] + mean[i]
    return _imgs.type(torch.uint8) / 255.0


class RefCTCHead(torch.nn.Module):
    """ToCo's CTCHead (DINO's head), weights copied from a ProjectionHead."""

    def __init__(self, head):
        super().__init__()
        self.mlp = copy.deepcopy(head.mlp)
        out_dim, bottleneck = head.last_layer.weight_v.shape
        self.last_layer = torch.nn.utils.weight_norm(
            torch.nn.Linear(bottleneck, out_dim, bias=False))
        self.last_layer.weight_g.data.copy_(head.last_layer.weight_g.data)
        self.last_layer.weight_v.data.copy_(head.last_layer.weight_v.data)

    def forward(self, x):
        x = self.mlp(x)
        x = torch.nn.functional.normalize(x, dim=-1, p=2)
        return self.last_layer(x)


class RefNetwork(torch.nn.Module):
    """ToCo's ``network`` (model/model_seg_neg.py) on the weights of a ToCo model: its
    encoder's ``prepare_tokens`` / ``forward_features`` written out over the timm blocks'
    parameters."""

    def __init__(self, model, aux_layer, init_momentum=0.9):
        super().__init__()
        self.vit = model.backbone.vit
        self.patch_size = model.backbone.patch_size
        self._size = self.vit.patch_embed.grid_size[0]
        self.aux_layer = aux_layer
        self.classifier = model.classifier
        self.aux_classifier = model.aux_classifier
        self.decoder = model.decoder
        self.proj_head = RefCTCHead(model.proj_head)
        self.proj_head_t = RefCTCHead(model.proj_head_t)
        self.init_momentum = init_momentum
        self.num_classes = model.num_classes + 1

    def _block(self, blk, x):
        y = blk.norm1(x)
        B, N, C = y.shape
        heads = blk.attn.num_heads
        qkv = blk.attn.qkv(y).reshape(B, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * (C // heads)**-0.5).softmax(dim=-1)
        o = blk.attn.proj((attn @ v).transpose(1, 2).reshape(B, N, C))
        x = x + o
        return x + blk.mlp.fc2(blk.mlp.act(blk.mlp.fc1(blk.norm2(x))))

    def forward_features(self, x):
        B, nc, h, w = x.shape
        h, w = h // self.patch_size, w // self.patch_size
        x = self.vit.patch_embed.proj(x).flatten(2).transpose(1, 2)
        pos_embed = self.vit.pos_embed
        patch_pos_embed = pos_embed[:, 1:, :].reshape(1, self._size, self._size,
                                                      -1).permute(0, 3, 1, 2)
        patch_pos_embed = F.interpolate(patch_pos_embed, size=(h, w), mode='bicubic',
                                        align_corners=False)
        patch_pos_embed = patch_pos_embed.reshape(1, -1, h * w).permute(0, 2, 1)
        pos_embed = torch.cat((pos_embed[:, :1, :], patch_pos_embed), dim=1)
        x = torch.cat((self.vit.cls_token.expand(B, -1, -1), x), dim=1) + pos_embed
        embeds = []
        for blk in self.vit.blocks:
            x = self._block(blk, x)
            embeds.append(x)
        x = self.vit.norm(x)
        embeds[-1] = x
        return x[:, 0], x[:, 1:], embeds[self.aux_layer][:, 1:]

    def to_2D(self, x, h, w):
        n, hw, c = x.shape
        return x.transpose(1, 2).reshape(n, c, h, w)

    @torch.no_grad()
    def _EMA_update_encoder_teacher(self):
        m = self.init_momentum
        for param, param_t in zip(self.proj_head.parameters(), self.proj_head_t.parameters()):
            param_t.data = m * param_t.data + (1. - m) * param.data

    def forward_proj(self, crops):
        global_view = crops[:2]
        local_inputs = torch.cat(crops[2:], dim=0)
        self._EMA_update_encoder_teacher()
        global_output_t = self.forward_features(torch.cat(global_view, dim=0))[0].detach()
        output_t = self.proj_head_t(global_output_t)
        global_output_s = self.forward_features(torch.cat(global_view, dim=0))[0]
        local_output_s = self.forward_features(local_inputs)[0]
        output_s = self.proj_head(torch.cat((global_output_s, local_output_s), dim=0))
        return output_t, output_s

    def forward(self, x, cam_only=False, crops=None):
        cls_token, _x, x_aux = self.forward_features(x)
        if crops is not None:
            output_t, output_s = self.forward_proj(crops)
        h, w = x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size
        _x4 = self.to_2D(_x, h, w)
        _x_aux = self.to_2D(x_aux, h, w)
        seg = self.decoder(_x4)
        if cam_only:
            cam = F.conv2d(_x4, self.classifier.weight).detach()
            cam_aux = F.conv2d(_x_aux, self.aux_classifier.weight).detach()
            return cam_aux, cam
        cls_aux = self.aux_classifier(F.adaptive_max_pool2d(_x_aux, (1, 1)))
        cls_x4 = self.classifier(F.adaptive_max_pool2d(_x4, (1, 1)))
        cls_x4 = cls_x4.view(-1, self.num_classes - 1)
        cls_aux = cls_aux.view(-1, self.num_classes - 1)
        if crops is None:
            return cls_x4, seg, _x4, cls_aux
        return cls_x4, seg, _x4, cls_aux, output_t, output_s


def ref_multi_scale_cam2(model, inputs, scales):
    b, c, h, w = inputs.shape
    with torch.no_grad():
        def one(_inputs):
            _cam_aux, _cam = model(torch.cat([_inputs, _inputs.flip(-1)], dim=0),
                                   cam_only=True)
            _cam = F.interpolate(_cam, size=(h, w), mode='bilinear', align_corners=False)
            _cam = torch.max(_cam[:b, ...], _cam[b:, ...].flip(-1))
            _cam_aux = F.interpolate(_cam_aux, size=(h, w), mode='bilinear',
                                     align_corners=False)
            _cam_aux = torch.max(_cam_aux[:b, ...], _cam_aux[b:, ...].flip(-1))
            return F.relu(_cam), F.relu(_cam_aux)

        c0, a0 = one(inputs)
        cam_list, cam_aux_list = [c0], [a0]
        for s in scales:
            if s != 1.0:
                _inputs = F.interpolate(inputs, size=(int(s * h), int(s * w)),
                                        mode='bilinear', align_corners=False)
                c1, a1 = one(_inputs)
                cam_list.append(c1)
                cam_aux_list.append(a1)
        cam = torch.sum(torch.stack(cam_list, dim=0), dim=0)
        cam = cam + F.adaptive_max_pool2d(-cam, (1, 1))
        cam /= F.adaptive_max_pool2d(cam, (1, 1)) + 1e-5
        cam_aux = torch.sum(torch.stack(cam_aux_list, dim=0), dim=0)
        cam_aux = cam_aux + F.adaptive_max_pool2d(-cam_aux, (1, 1))
        cam_aux /= F.adaptive_max_pool2d(cam_aux, (1, 1)) + 1e-5
    return cam, cam_aux
