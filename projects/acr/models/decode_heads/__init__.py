from .aspp_sum_head import ASPPSumHead

__all__ = ['ASPPSumHead']
