# ACR on PASCAL VOC 2012 with distilled DeiT-B/16 at 384 px (class + distillation token);
# everything else as vit_voc.py. Not a setting of the paper (no figure to compare with).
# The classifier reads the class token only; the distillation token takes part in the
# attention but is left out of the consistency loss and the class maps, which cover the
# patch tokens after both prefix tokens.
_base_ = './vit_voc.py'
model = dict(backbone=dict(arch='deit_base_distilled_patch16_384'))
