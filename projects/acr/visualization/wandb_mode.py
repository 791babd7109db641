"""Whether W&B can log online here: API key check, a bounded reachability probe, the mode.

Nothing here may block a run: without a key there is no network access at all, and the
probe is one TCP connect with a hard deadline (DNS lookup included).
"""
import netrc
import os
import socket
import threading
from typing import List, Optional, Tuple
from urllib.parse import urlparse

# Where the mode came from when it was not probed.
EXPLICIT_MODE_SOURCES = ('WANDB_MODE', 'init_kwargs["mode"]')


def _tcp_probe(hostname: str, port: int, timeout: float) -> Optional[str]:
    """One TCP connect with a hard deadline; None when it succeeds, else why not.

    ``socket.create_connection`` bounds each connect by ``timeout`` but not the DNS
    lookup before it, and it tries every resolved address in turn; running it in a daemon
    thread joined with ``timeout`` bounds the whole probe.
    """
    outcome: List[Optional[str]] = []

    def probe() -> None:
        try:
            with socket.create_connection((hostname, port), timeout=timeout):
                pass
            outcome.append(None)
        except OSError as exc:
            outcome.append(f'{hostname}:{port} is unreachable ({exc.__class__.__name__}: {exc})')

    thread = threading.Thread(target=probe, name='wandb-reachability-probe', daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return f'{hostname}:{port} did not answer within {timeout:g} s'
    return outcome[0]


def wandb_online_reason(host: Optional[str] = None, timeout: float = 1.0) -> Optional[str]:
    """Why W&B cannot log online here, or None when it can.

    Online logging needs an API key (``WANDB_API_KEY`` or a netrc entry written by
    ``wandb login``) and a reachable server. The key is checked first, so without one
    there is no network access at all.

    Args:
        host (str, optional): W&B server URL; defaults to ``WANDB_BASE_URL`` or
            ``https://api.wandb.ai``.
        timeout (float): Upper bound in seconds for the reachability probe, DNS included.

    Returns:
        str or None: A one-line reason, or None when online logging can work.
    """
    base = host or os.environ.get('WANDB_BASE_URL', 'https://api.wandb.ai')
    parsed = urlparse(base if '://' in base else f'https://{base}')
    hostname = parsed.hostname or 'api.wandb.ai'
    try:
        port = parsed.port or (80 if parsed.scheme == 'http' else 443)
    except ValueError:
        return f'WANDB_BASE_URL "{base}" has an invalid port'
    if not os.environ.get('WANDB_API_KEY'):
        try:
            auth = netrc.netrc(os.environ.get('NETRC')).authenticators(hostname)
        except (FileNotFoundError, netrc.NetrcParseError, OSError):
            auth = None
        if not auth:
            return 'no W&B API key (set WANDB_API_KEY or run `wandb login`)'
    return _tcp_probe(hostname, port, timeout)


def decide_wandb_mode(init_kwargs: Optional[dict] = None,
                      timeout: float = 1.0) -> Tuple[str, str]:
    """The mode a run should use and why.

    ``init_kwargs['mode']`` wins, then the ``WANDB_MODE`` environment variable; otherwise
    the run is online when :func:`wandb_online_reason` finds nothing against it, and
    offline when it does.

    Args:
        init_kwargs (dict, optional): Arguments meant for ``wandb.init``.
        timeout (float): Deadline of the reachability probe in seconds.

    Returns:
        tuple[str, str]: ``(mode, reason)``, e.g. ``('offline', 'no W&B API key ...')``.
    """
    mode = (init_kwargs or {}).get('mode')
    if mode:
        return str(mode), 'init_kwargs["mode"]'
    mode = os.environ.get('WANDB_MODE')
    if mode:
        return mode, 'WANDB_MODE'
    reason = wandb_online_reason(timeout=timeout)
    if reason is not None:
        return 'offline', reason
    return 'online', 'API key present and server reachable'
