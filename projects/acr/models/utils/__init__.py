from .view_correspondence import flip_token_index, gather_pairs, gather_tokens, view_token_index

__all__ = ['flip_token_index', 'view_token_index', 'gather_tokens', 'gather_pairs']
