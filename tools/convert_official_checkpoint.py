"""The old path of tools/model_converters/acr_official.py, kept until the next release.

It prints a notice and runs the tool at its new path with the same arguments.
"""
import os.path as osp
import runpy
import sys

OLD = 'tools/convert_official_checkpoint.py'
NEW = 'tools/model_converters/acr_official.py'

if __name__ == '__main__':
    print(f'{OLD} moved to {NEW}; the old path goes in the next release', file=sys.stderr)
    sys.argv[0] = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), NEW)
    runpy.run_path(sys.argv[0], run_name='__main__')
