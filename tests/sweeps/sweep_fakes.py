"""Fake trainers and specs shared by the sweep tests (a module of its own: several test
folders have a conftest, so ``from conftest import`` would find another folder's)."""

# A stand-in of tools/train.py: it logs what the real one logs (one scalars.json line per
# validation, a checkpoint and last_checkpoint per epoch) from a formula of its overrides,
# resumes from its last checkpoint with --resume, and records each launch (pid, argv,
# the W&B variables) in launches.jsonl next to its work dir.
FAKE_TRAIN = '''
import json, os, sys, time
argv = sys.argv[1:]
work_dir = argv[argv.index('--work-dir') + 1]
opts = {}
for i, a in enumerate(argv):
    if '=' in a and i > 0:
        k, v = a.split('=', 1)
        opts[k] = v
x = float(opts.get('x', 0))
y = float(opts.get('y', 0))
epochs = int(opts.get('epochs', 3))
delay = float(opts.get('delay', 0))
if opts.get('fail') == str(x) or opts.get('fail') == opts.get('x'):
    print('boom'); sys.exit(3)
os.makedirs(work_dir, exist_ok=True)
start = 0
ckpt_file = os.path.join(work_dir, 'last_checkpoint')
if '--resume' in argv and os.path.isfile(ckpt_file):
    start = int(open(ckpt_file).read().strip().rsplit('_', 1)[1].split('.')[0])
with open(os.path.join(work_dir, 'launches.jsonl'), 'a') as f:
    f.write(json.dumps(dict(pid=os.getpid(), argv=argv, start=start,
                            name=os.environ.get('WANDB_NAME'),
                            group=os.environ.get('WANDB_RUN_GROUP'))) + '\\n')
vis = os.path.join(work_dir, str(time.time_ns()), 'vis_data')
os.makedirs(vis)
for epoch in range(start + 1, epochs + 1):
    time.sleep(delay)
    value = 50 - (x - 3) ** 2 - y + 10 * (1 - 1 / epoch)
    with open(os.path.join(vis, 'scalars.json'), 'a') as f:
        f.write(json.dumps({'loss': 1.0, 'step': epoch}) + '\\n')
        f.write(json.dumps({'cam/mIoU': value, 'step': epoch}) + '\\n')
    ckpt = os.path.join(work_dir, f'epoch_{epoch}.pth')
    open(ckpt, 'w').close()
    with open(ckpt_file, 'w') as f:
        f.write(ckpt)
'''


def fake_value(x: float, y: float = 0.0, epoch: int = 3) -> float:
    """What FAKE_TRAIN logs at ``epoch``."""
    return 50 - (x - 3)**2 - y + 10 * (1 - 1 / epoch)


def fake_spec_dict(method='grid', parameters=None, **extra):
    """A spec whose program is the fake trainer (``x`` and ``y`` are its knobs)."""
    raw = dict(program='tools/train.py', method=method,
               metric=dict(name='cam/mIoU', goal='maximize'),
               command=['${env}', '${interpreter}', '${program}', 'configs/fake.py',
                        '--cfg-options', '${args_no_hyphens}'])
    raw['parameters'] = parameters or {'x': {'values': [1, 2, 3]}, 'epochs': {'value': 3}}
    raw.update(extra)
    return raw


def launches(work_dir) -> list:
    """The launches FAKE_TRAIN recorded in ``work_dir``."""
    import json
    import os.path as osp
    path = osp.join(str(work_dir), 'launches.jsonl')
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
