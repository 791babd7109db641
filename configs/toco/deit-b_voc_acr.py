# ToCo + ACR: the attention of ToCo's two global views kept consistent (intensity and
# all-pairs affinity of every block, ACR's published alpha 125 as the start point), the
# second view's random resized crop aligned through its recorded geometry.
_base_ = './deit-b_voc.py'
model = dict(acr_loss=dict(_delete_=True, type='ACRLoss', loss_weight=125.0))
