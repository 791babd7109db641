from .view_correspondence import (affine_area_ratio, affine_token_correspondence, flip_token_index,
                                  flip_view_affine, gather_pairs, gather_tokens, resample_pairs,
                                  resample_tokens, view_token_index)

__all__ = [
    'flip_token_index', 'view_token_index', 'gather_tokens', 'gather_pairs',
    'affine_token_correspondence', 'resample_tokens', 'resample_pairs', 'affine_area_ratio',
    'flip_view_affine'
]
