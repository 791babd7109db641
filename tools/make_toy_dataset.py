"""The old path of tools/dataset_converters/make_toy_dataset.py, kept until the next release.

It prints a notice and runs the tool at its new path with the same arguments.
"""
import os.path as osp
import runpy
import sys

OLD = 'tools/make_toy_dataset.py'
NEW = 'tools/dataset_converters/make_toy_dataset.py'

if __name__ == '__main__':
    print(f'{OLD} moved to {NEW}; the old path goes in the next release', file=sys.stderr)
    sys.argv[0] = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), NEW)
    runpy.run_path(sys.argv[0], run_name='__main__')
