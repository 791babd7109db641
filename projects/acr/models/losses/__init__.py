from .acr_loss import ACRLoss

__all__ = ['ACRLoss']
