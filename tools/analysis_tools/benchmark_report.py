"""Write the performance page from the benchmark's JSON records, one per machine.

Each record (``tools/analysis_tools/benchmark.py --json``) becomes a section with its machine, CPU
capability, the command that measured it, the table and the ratios; nothing is copied
by hand.

Examples:
    python tools/analysis_tools/benchmark.py --workloads train_fp32 timm_fp32 maps --repeats 5 \\
        --json docs/benchmarks/cpu-2core-epyc.json
    python tools/analysis_tools/benchmark_report.py docs/benchmarks/*.json \\
        --out docs/performance.md
    python tools/analysis_tools/benchmark_report.py docs/benchmarks/*.json \\
        --check docs/performance.md
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from projects.acr.benchmark.report import format_report, load_record, relative_source  # noqa: E402
from projects.acr.utils.atomic_io import atomic_write_bytes  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('records', nargs='+',
                        help='JSON records of tools/analysis_tools/benchmark.py')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--out', help='write the page here (markdown)')
    group.add_argument('--check', metavar='PAGE',
                       help='exit with status 1 if PAGE differs from what the records give')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    page = args.out or args.check
    records = [(relative_source(p, REPO), load_record(p)) for p in args.records]
    text = format_report(records, relative_source(page, REPO))
    if args.check:
        current = open(page).read() if osp.isfile(page) else ''
        if current != text:
            sys.exit(f'{page} is not what the records give; regenerate it with '
                     f'--out {page}')
        print(f'{page} is up to date with {len(records)} record(s)')
        return
    atomic_write_bytes(args.out, text.encode())
    print(f'wrote {args.out} from {len(records)} record(s)')


if __name__ == '__main__':
    main()
