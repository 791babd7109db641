"""Seeded ablations: named variants x training seeds, with spreads and paired differences."""
from .ablation_report import build_tables, paired_differences, summarize, write_report
from .ablation_runner import AblationRunner, RunRecord, read_record
from .ablation_spec import (AblationSpec, AblationSpecError, MetricSpec, load_ablation_spec,
                            parse_ablation_spec)

__all__ = [
    'AblationRunner', 'RunRecord', 'read_record', 'AblationSpec', 'AblationSpecError',
    'MetricSpec', 'load_ablation_spec', 'parse_ablation_spec', 'build_tables',
    'paired_differences', 'summarize', 'write_report'
]
