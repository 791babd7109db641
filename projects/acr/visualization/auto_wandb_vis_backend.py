"""A W&B visualization backend that goes offline by itself."""
import netrc
import os
import os.path as osp
import socket
from typing import Optional
from urllib.parse import urlparse

from mmengine.logging import print_log
from mmengine.visualization import WandbVisBackend
from mmseg.registry import VISBACKENDS


def wandb_online_reason(host: Optional[str] = None, timeout: float = 2.0) -> Optional[str]:
    """Why W&B cannot log online here, or None when it can.

    Online logging needs an API key (``WANDB_API_KEY`` or a netrc entry written by
    ``wandb login``) and a reachable server. The reachability probe is one TCP connect
    with a short timeout, so training never waits on it for long.

    Args:
        host (str, optional): W&B server; ``WANDB_BASE_URL`` or api.wandb.ai.
        timeout (float): Seconds for the connection attempt.
    """
    base = host or os.environ.get('WANDB_BASE_URL', 'https://api.wandb.ai')
    parsed = urlparse(base if '://' in base else f'https://{base}')
    hostname = parsed.hostname or 'api.wandb.ai'
    port = parsed.port or (80 if parsed.scheme == 'http' else 443)
    if not os.environ.get('WANDB_API_KEY'):
        try:
            auth = netrc.netrc(os.environ.get('NETRC')).authenticators(hostname)
        except (FileNotFoundError, netrc.NetrcParseError, OSError):
            auth = None
        if not auth:
            return 'no W&B API key (set WANDB_API_KEY or run `wandb login`)'
    try:
        with socket.create_connection((hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        return f'{hostname}:{port} is unreachable ({exc.__class__.__name__})'
    return None


@VISBACKENDS.register_module()
class AutoWandbVisBackend(WandbVisBackend):
    """:class:`WandbVisBackend` that logs offline when it cannot log online.

    Without an API key or network the run is written under the work dir
    (``<save_dir>/wandb/offline-run-*``) and can be uploaded later with ``wandb sync``.
    ``WANDB_MODE`` set by the user (``online``, ``offline``, ``disabled``) or
    ``init_kwargs['mode']`` always win. The run is named after the work dir and grouped
    by it unless ``init_kwargs`` says otherwise.

    Args:
        save_dir (str): Where the run files go.
        init_kwargs (dict, optional): Arguments of ``wandb.init``.
        **kwargs: Other arguments of :class:`WandbVisBackend`.
    """

    def _init_env(self) -> None:
        kwargs = dict(self._init_kwargs or {})
        if 'mode' not in kwargs and not os.environ.get('WANDB_MODE'):
            reason = wandb_online_reason()
            if reason is not None:
                kwargs['mode'] = 'offline'
                print_log(f'W&B logs offline: {reason}. Upload later with '
                          f'`wandb sync {osp.join(self._save_dir, "wandb")}/offline-run-*`',
                          logger='current')
        # save_dir is <work_dir>/<timestamp>/vis_data
        work_dir = osp.dirname(osp.dirname(osp.abspath(self._save_dir)))
        kwargs.setdefault('group', osp.basename(work_dir))
        kwargs.setdefault('name', osp.basename(osp.dirname(osp.abspath(self._save_dir))))
        os.environ.setdefault('WANDB_SILENT', 'true')
        self._init_kwargs = kwargs
        super()._init_env()
