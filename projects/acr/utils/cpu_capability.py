"""Whether this CPU computes bfloat16 natively, or only emulates it.

bf16 autocast pays off on a CPU only where the matrix products run in bf16 instructions
(x86: AVX512-BF16 or AMX-BF16; Arm: the BF16 extension). Elsewhere (AVX2 laptops and
servers, AVX-512 without the BF16 extension) bf16 products are emulated, and a measured
512 x 512 product took 36x as long as in fp32 on an AVX2 CPU: bf16 training would be
many times slower than fp32, not faster.

The answer comes from the CPU's instruction-set flags (``/proc/cpuinfo`` on Linux, or
torch's own CPU feature query); where neither is available (macOS, Windows) a short timed
probe decides: bf16 counts as native when a bf16 product is at least as fast as the fp32
one.
"""
import platform
import time
from dataclasses import asdict, dataclass
from typing import Dict, FrozenSet, Optional, Tuple

import torch

#: Instruction-set flags (as ``/proc/cpuinfo`` names them) that compute bf16 natively.
BF16_FLAGS = ('avx512_bf16', 'amx_bf16', 'bf16')


class NoNativeBF16Error(RuntimeError):
    """bf16 was asked for on a CPU that only emulates it."""


@dataclass(frozen=True)
class CPUCapability:
    """What the CPU offers for matrix products.

    Attributes:
        isa (str): torch's vector instruction level, ``torch.backends.cpu.get_cpu_capability()``
            (``'AVX2'``, ``'AVX512'``, ``'DEFAULT'``, ...).
        machine (str): ``platform.machine()`` (``'x86_64'``, ``'aarch64'``, ...).
        bf16_flags (tuple[str, ...]): The native-bf16 flags the CPU reports (empty when it
            reports none, or when flags could not be read).
        native_bf16 (bool): Whether bf16 products run natively.
        source (str): How ``native_bf16`` was decided: ``'cpu flags'``, ``'torch cpu
            features'`` or ``'timed probe'``.
        probe (dict, optional): The probe's timings when one ran: ``size``,
            ``fp32_seconds``, ``bf16_seconds`` (best of its repeats, one product each).
    """

    isa: str
    machine: str
    bf16_flags: Tuple[str, ...]
    native_bf16: bool
    source: str
    probe: Optional[Dict[str, float]] = None

    def describe(self) -> str:
        """One line for logs and reports, e.g. ``AVX2, no native bf16 (cpu flags)``."""
        if self.native_bf16:
            how = ', '.join(self.bf16_flags) if self.bf16_flags else self.source
            text = f'{self.isa}, native bf16 ({how})'
        else:
            text = f'{self.isa}, no native bf16 ({self.source})'
        if self.probe:
            text += (f"; {self.probe['size']}x{self.probe['size']} product "
                     f"fp32 {1e3 * self.probe['fp32_seconds']:.2f} ms, "
                     f"bf16 {1e3 * self.probe['bf16_seconds']:.2f} ms")
        return text

    def as_dict(self) -> Dict[str, object]:
        """JSON-ready fields, with the one-line description as ``summary``."""
        out = asdict(self)
        out['bf16_flags'] = list(self.bf16_flags)
        out['summary'] = self.describe()
        return out


def read_cpu_flags(path: str = '/proc/cpuinfo') -> Optional[FrozenSet[str]]:
    """The CPU's instruction-set flags, lower case, or None where they cannot be read.

    x86 lists them as ``flags``, Arm as ``Features``; the first such line is taken (all
    cores of a machine report the same set).
    """
    try:
        with open(path) as f:
            for line in f:
                key, sep, value = line.partition(':')
                if sep and key.strip().lower() in ('flags', 'features'):
                    return frozenset(value.lower().split())
    except OSError:
        pass
    return None


def _torch_cpu_features() -> Optional[Dict[str, bool]]:
    """torch's own CPU feature query (x86 only), or None where this torch has none."""
    query = getattr(torch.cpu, '_is_avx512_bf16_supported', None)
    if query is None or platform.machine().lower() not in ('x86_64', 'amd64', 'i386', 'i686'):
        return None
    try:
        return dict(avx512_bf16=bool(query()),
                    amx_bf16=bool(getattr(torch.cpu, '_is_amx_tile_supported', lambda: False)()))
    except Exception:  # a private API: any failure just means "not available"
        return None


def bf16_matmul_probe(size: int = 256, repeats: int = 5) -> Dict[str, float]:
    """Times one ``size`` x ``size`` product in fp32 and in bf16 (best of ``repeats``).

    About a millisecond per product where bf16 is native, tens of milliseconds where it is
    emulated, so the probe itself stays short.

    Returns:
        dict: ``size``, ``fp32_seconds``, ``bf16_seconds``.
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen)
    b = torch.randn(size, size, generator=gen)
    out = dict(size=size)
    for name, dtype in (('fp32', torch.float32), ('bf16', torch.bfloat16)):
        x, y = a.to(dtype), b.to(dtype)
        torch.mm(x, y)  # kernel selection, page faults
        best = float('inf')
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(x, y)
            best = min(best, time.perf_counter() - start)
        out[f'{name}_seconds'] = best
    return out


def detect_cpu_capability(probe: str = 'auto',
                          cpuinfo: str = '/proc/cpuinfo') -> CPUCapability:
    """Finds out whether this CPU computes bf16 natively.

    Args:
        probe (str): ``'auto'``: time a product only where the CPU's flags cannot be
            read; ``'always'``: time it as well and let it decide; ``'never'``: flags only
            (no flags then means no native bf16).
        cpuinfo (str): Where Linux lists the CPU flags.

    Returns:
        CPUCapability: The instruction level, the flags found and the verdict.
    """
    if probe not in ('auto', 'always', 'never'):
        raise ValueError(f"probe must be 'auto', 'always' or 'never', got {probe!r}")
    isa = torch.backends.cpu.get_cpu_capability()
    machine = platform.machine()
    flags = read_cpu_flags(cpuinfo)
    source = 'cpu flags'
    if flags is None:
        features = _torch_cpu_features()
        if features is not None:
            flags = frozenset(k for k, on in features.items() if on)
            source = 'torch cpu features'
    found = tuple(f for f in BF16_FLAGS if flags is not None and f in flags)
    native = bool(found)
    timings = None
    if probe == 'always' or (probe == 'auto' and flags is None):
        timings = bf16_matmul_probe()
        native = timings['bf16_seconds'] <= timings['fp32_seconds']
        source = 'timed probe'
    elif flags is None:
        source = 'no cpu flags, not probed'
    return CPUCapability(isa=isa, machine=machine, bf16_flags=found, native_bf16=native,
                         source=source, probe=timings)


def no_native_bf16_message(capability: CPUCapability, what: str, instead: str) -> str:
    """The message of a refused or discouraged bf16 run on a CPU without native bf16.

    Args:
        capability (CPUCapability): The CPU.
        what (str): What asked for bf16 (``'--amp'``, ...).
        instead (str): What to do instead.
    """
    return (f'{what} asks for bf16, but this CPU has no native bf16 ({capability.describe()}): '
            'its bf16 matrix products are emulated, many times slower than fp32 (36x for a '
            f'512 x 512 product on an AVX2 CPU), so bf16 would slow the run down. {instead}')
