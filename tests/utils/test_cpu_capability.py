import pytest
import torch

from projects.acr.utils import cpu_capability
from projects.acr.utils.cpu_capability import (bf16_matmul_probe, detect_cpu_capability,
                                               no_native_bf16_message, read_cpu_flags)

X86_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B12
flags\t\t: fpu vme sse sse2 avx avx2 fma bmi2
"""
X86_AVX512 = X86_AVX2.replace('avx2 fma', 'avx2 fma avx512f avx512bw avx512vl')
X86_BF16 = X86_AVX512 + 'flags\t\t: ignored second core\n'
X86_BF16 = X86_BF16.replace('avx512vl', 'avx512vl avx512_bf16 amx_bf16 amx_tile', 1)
ARM_BF16 = """processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes sha2 crc32 atomics fphp asimdhp bf16 i8mm
"""


def _write(tmp_path, text):
    path = tmp_path / 'cpuinfo'
    path.write_text(text)
    return str(path)


def test_flags_are_read_from_the_first_core(tmp_path):
    flags = read_cpu_flags(_write(tmp_path, X86_BF16))
    assert {'avx2', 'avx512_bf16', 'amx_bf16'} <= flags and 'ignored' not in flags
    assert 'bf16' in read_cpu_flags(_write(tmp_path, ARM_BF16))
    assert read_cpu_flags(str(tmp_path / 'missing')) is None


@pytest.mark.parametrize('text, native, found', [
    (X86_AVX2, False, ()),
    (X86_AVX512, False, ()),  # AVX-512 without its BF16 extension only emulates bf16
    (X86_BF16, True, ('avx512_bf16', 'amx_bf16')),
    (ARM_BF16, True, ('bf16', )),
])
def test_native_bf16_from_the_cpu_flags(tmp_path, text, native, found):
    cap = detect_cpu_capability(probe='never', cpuinfo=_write(tmp_path, text))
    assert (cap.native_bf16, cap.bf16_flags, cap.source) == (native, found, 'cpu flags')
    assert cap.isa == torch.backends.cpu.get_cpu_capability()
    assert cap.probe is None
    line = cap.describe()
    assert ('no native bf16' in line) == (not native)
    assert all(f in line for f in found)
    record = cap.as_dict()
    assert record['summary'] == line and record['bf16_flags'] == list(found)


def test_the_probe_times_both_precisions():
    timings = bf16_matmul_probe(size=32, repeats=2)
    assert timings['size'] == 32
    assert timings['fp32_seconds'] > 0 and timings['bf16_seconds'] > 0


@pytest.mark.parametrize('bf16_seconds, native', [(0.001, True), (0.2, False)])
def test_without_flags_the_probe_decides(tmp_path, monkeypatch, bf16_seconds, native):
    # A machine without /proc/cpuinfo and without torch's feature query (macOS, Windows);
    # the probe's timings stand for an emulating (0.2 s) and a native (1 ms) CPU.
    monkeypatch.setattr(cpu_capability, '_torch_cpu_features', lambda: None)
    monkeypatch.setattr(cpu_capability, 'bf16_matmul_probe',
                        lambda: dict(size=256, fp32_seconds=0.0055, bf16_seconds=bf16_seconds))
    cap = detect_cpu_capability(cpuinfo=str(tmp_path / 'missing'))
    assert cap.source == 'timed probe' and cap.native_bf16 is native
    assert 'ms' in cap.describe()
    never = detect_cpu_capability(probe='never', cpuinfo=str(tmp_path / 'missing'))
    assert not never.native_bf16 and never.probe is None


def test_torch_features_stand_in_for_missing_flags(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu_capability, '_torch_cpu_features',
                        lambda: dict(avx512_bf16=True, amx_bf16=False))
    cap = detect_cpu_capability(probe='never', cpuinfo=str(tmp_path / 'missing'))
    assert cap.native_bf16 and cap.bf16_flags == ('avx512_bf16', )
    assert cap.source == 'torch cpu features'


def test_this_machine_is_described():
    cap = detect_cpu_capability()
    assert cap.source in ('cpu flags', 'torch cpu features', 'timed probe')
    assert cap.isa in cap.describe()


def test_bad_probe_mode_and_the_message(tmp_path):
    with pytest.raises(ValueError, match='probe'):
        detect_cpu_capability(probe='sometimes')
    cap = detect_cpu_capability(probe='never', cpuinfo=_write(tmp_path, X86_AVX2))
    msg = no_native_bf16_message(cap, '--amp', 'Train without --amp.')
    assert msg.startswith('--amp asks for bf16') and 'no native bf16' in msg
    assert msg.endswith('Train without --amp.')
