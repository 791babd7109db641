"""The whole WSSS job: stage-1 training -> class maps -> pseudo labels -> stage 2 -> report.

Each step runs one of the toolkit's tools in a subprocess (the same command a user would
type) and is skipped when its outputs exist; all tools write their outputs atomically, so
an interrupted pipeline resumes at the first incomplete step.

Why subprocesses rather than calls of the package APIs: training and testing build an
mmengine runner, whose logger, visualizer and default scope are process-wide and
collide when a second runner starts in the same process, and they are the steps that
take a launcher (torchrun, Slurm) on several GPUs; a fresh process per step also frees
each step's memory. The tools are found by :func:`find_tools_dir` (``$ACR_TOOLS_DIR``,
the checkout next to the package, or the working directory), so an installed package
runs them from a checkout instead of from a path inside site-packages; the steps run in
the folder above the tools, against which configs name their data.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config, DictAction

from ..affinity.label_refiner import SETTINGS_FILE as REFINE_SETTINGS_FILE
from ..apis.cam_inferencer import SETTINGS_FILE
from ..datasets.split_dataset import resolve_ann_file, split_dataset_cfg
from ..sweeps.trial_results import read_metric
from ..utils.atomic_io import atomic_open
from .pipeline_step import (PipelineStep, fixed_outputs, per_image_outputs, project_root,
                            python_command)

STEP_NAMES = ('stage1_train', 'cams', 'pseudo_labels', 'eval_cams', 'eval_pseudo_labels',
              'affinity_train', 'refined_labels', 'eval_refined_labels', 'stage2_train',
              'stage2_test')
# The AffinityNet steps (PSA's random walk between the CRF labels and stage 2).
AFFINITY_STEPS = ('affinity_train', 'refined_labels', 'eval_refined_labels')
# AffinityNet configs (in configs/affinity/) by the data of the stage-1 config, the last
# part of its file name.
AFFINITY_CONFIGS = {
    'voc': 'affinitynet_r101-d8_1xb8-8e_voc-448x448.py',
    'toy': 'affinitynet_r18-d8_1xb8-6e_toy-96x96.py',
}


def affinity_config_for(stage1_config: str) -> Optional[str]:
    """The AffinityNet config that goes with a stage-1 config (``*_voc.py``, ``*_toy.py``).

    Args:
        stage1_config (str): ``<configs>/acr/<name>.py``; the AffinityNet configs are
            looked up in ``<configs>/affinity/``.

    Returns:
        str | None: Absolute path, or None when there is none for that data (COCO).
    """
    stem = osp.splitext(osp.basename(stage1_config))[0]
    name = AFFINITY_CONFIGS.get(stem.rsplit('_', 1)[-1])
    if name is None:
        return None
    configs = osp.dirname(osp.dirname(osp.abspath(stage1_config)))
    return osp.join(configs, 'affinity', name)


def affinity_by_default(stage1_config: str) -> bool:
    """Whether the random-walk step runs unless switched off: for the published VOC
    configs, whose figures come from PSA-refined labels, not for the toy demo."""
    return osp.basename(stage1_config).endswith('_voc.py')


@dataclass
class PipelineSettings:
    """What the pipeline runs, and where.

    Args:
        stage1_config (str): Stage-1 (ACR) config.
        stage2_config (str): Stage-2 (segmentation) config; its training dataset takes a
            ``pseudo_label_dir``.
        work_dir (str): Root of every output.
        data_root (str, optional): Replaces the data root of both configs.
        cam_split (str): Image list the maps and pseudo labels are made for (the stage-2
            training list, e.g. ``train_aug``).
        eval_split (str): Image list on which maps and pseudo labels are scored against
            the masks (``train`` as in the paper; must be part of ``cam_split``).
        stage1_options (list[str]): ``--cfg-options`` of stage 1 (``key=value``).
        stage2_options (list[str]): ``--cfg-options`` of stage 2.
        infer_args (list[str]): Extra arguments of ``tools/infer_cam.py`` (e.g. scales).
        pseudo_label_args (list[str]): Extra arguments of ``tools/make_pseudo_labels.py``.
        seed (int): Seed of both trainings.
        affinity_config (str, optional): AffinityNet config; when given, AffinityNet is
            trained on the pseudo labels, refines them by its random walk, and stage 2
            trains on the refined labels. None: stage 2 takes the CRF pseudo labels.
        affinity_options (list[str]): ``--cfg-options`` of the AffinityNet training.
        refine_args (list[str]): Extra arguments of ``tools/refine_labels.py``.
    """

    stage1_config: str
    stage2_config: str
    work_dir: str
    data_root: Optional[str] = None
    cam_split: str = 'train_aug'
    eval_split: str = 'train'
    stage1_options: List[str] = field(default_factory=list)
    stage2_options: List[str] = field(default_factory=list)
    infer_args: List[str] = field(default_factory=list)
    pseudo_label_args: List[str] = field(default_factory=list)
    seed: int = 0
    affinity_config: Optional[str] = None
    affinity_options: List[str] = field(default_factory=list)
    refine_args: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The tools run from the repository root: paths given relative to the caller's
        # working directory must not change meaning.
        self.stage1_config = osp.abspath(self.stage1_config)
        if self.affinity_config:
            self.affinity_config = osp.abspath(self.affinity_config)
        self.stage2_config = osp.abspath(self.stage2_config)
        self.work_dir = osp.abspath(self.work_dir)
        if self.data_root:
            self.data_root = osp.abspath(self.data_root)

    def path(self, *parts: str) -> str:
        """A path under the work dir."""
        return osp.join(self.work_dir, *parts)


def _options_dict(options: Sequence[str]) -> Dict:
    """``key=value`` strings parsed the way ``--cfg-options`` parses them."""
    action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
    namespace = type('Namespace', (), {})()
    action(None, namespace, list(options))
    return getattr(namespace, 'cfg_options', {}) or {}


def load_config(path: str, options: Sequence[str]) -> Config:
    """A config with ``--cfg-options`` applied, as the tools see it."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {path}')
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(_options_dict(options))
    return cfg


def final_checkpoint(cfg: Config, work_dir: str) -> str:
    """The checkpoint a finished training leaves: ``epoch_<max>.pth`` or ``iter_<max>.pth``."""
    train_cfg = cfg.get('train_cfg') or {}
    if train_cfg.get('max_epochs'):
        return osp.join(work_dir, f'epoch_{train_cfg["max_epochs"]}.pth')
    if train_cfg.get('max_iters'):
        return osp.join(work_dir, f'iter_{train_cfg["max_iters"]}.pth')
    raise KeyError('train_cfg has neither max_epochs nor max_iters: cannot tell which '
                   'checkpoint a finished training leaves')


def _data_root_options(cfg: Config, data_root: Optional[str]) -> List[str]:
    if not data_root:
        return []
    return [f'{loader}.dataset.data_root={data_root}'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            if cfg.get(loader)]


def _cfg_args(options: Sequence[str]) -> List[str]:
    return ['--cfg-options', *options] if options else []


@dataclass
class _Layout:
    """What the steps of one pipeline share: the stage-1 options, checkpoint and outputs.

    Args:
        s1_options (list[str]): ``--cfg-options`` of every stage-1 tool (data root, seed
            and the user's options).
        s1_ckpt (str): The checkpoint stage-1 training leaves.
        cam_list (str): The image list of ``cam_split``.
        s1_dir, cam_dir, label_dir, refined_dir, eval_dir (str): Output folders.
    """

    s1_options: List[str]
    s1_ckpt: str
    cam_list: str
    s1_dir: str
    cam_dir: str
    label_dir: str
    refined_dir: str
    eval_dir: str


def _layout(s: PipelineSettings) -> _Layout:
    """Loads the stage-1 config and finds the ``cam_split`` list (raises if missing)."""
    s1_options = [*_data_root_options(load_config(s.stage1_config, []), s.data_root),
                  f'randomness.seed={s.seed}', *s.stage1_options]
    s1_cfg = load_config(s.stage1_config, s1_options)
    s1_dir = s.path('stage1')
    root = split_dataset_cfg(s1_cfg).get('data_root') or ''
    cam_ds = split_dataset_cfg(s1_cfg, split=s.cam_split,  # raises if the list is missing
                               data_root=osp.join(project_root(), root))
    return _Layout(s1_options=s1_options, s1_ckpt=final_checkpoint(s1_cfg, s1_dir),
                   cam_list=resolve_ann_file(cam_ds), s1_dir=s1_dir, cam_dir=s.path('cams'),
                   label_dir=s.path('pseudo_labels'), refined_dir=s.path('refined_labels'),
                   eval_dir=s.path('eval'))


def _stage1_steps(s: PipelineSettings, lay: _Layout) -> List[PipelineStep]:
    """Stage-1 (ACR) training."""
    return [
        PipelineStep(
            'stage1_train', f'train ACR ({osp.basename(s.stage1_config)})',
            python_command('tools/train.py', s.stage1_config, '--work-dir', lay.s1_dir,
                           *_cfg_args(lay.s1_options)),
            fixed_outputs([lay.s1_ckpt])),
    ]


def _cam_steps(s: PipelineSettings, lay: _Layout) -> List[PipelineStep]:
    """Class maps of the ``cam_split`` list from the stage-1 checkpoint."""
    return [
        PipelineStep(
            'cams', f'GETAM class maps of the {s.cam_split} list',
            python_command('tools/infer_cam.py', s.stage1_config, lay.s1_ckpt, '--split',
                           s.cam_split, '--out-dir', lay.cam_dir, *s.infer_args,
                           *_cfg_args(lay.s1_options)),
            per_image_outputs(lay.cam_list, lay.cam_dir, '.npz'),
            # The inference settings file: a forced rerun may change scales or checkpoint.
            extra_files=[osp.join(lay.cam_dir, SETTINGS_FILE)]),
    ]


def _pseudo_label_steps(s: PipelineSettings, lay: _Layout) -> List[PipelineStep]:
    """Pseudo labels from the class maps."""
    return [
        PipelineStep(
            'pseudo_labels', 'pseudo labels from the class maps',
            python_command('tools/make_pseudo_labels.py', '--cam-dir', lay.cam_dir,
                           '--out-dir', lay.label_dir, '--config', s.stage1_config, '--split',
                           s.cam_split, *s.pseudo_label_args, *_cfg_args(lay.s1_options)),
            per_image_outputs(lay.cam_list, lay.label_dir, '.png')),
    ]


def _evaluation_steps(s: PipelineSettings, lay: _Layout) -> List[PipelineStep]:
    """Scores of the class maps (threshold sweep) and of the pseudo labels on ``eval_split``."""
    return [
        PipelineStep(
            'eval_cams', f'class-map mIoU on the {s.eval_split} list (threshold sweep)',
            python_command('tools/eval_cam.py', s.stage1_config, '--split', s.eval_split,
                           '--cam-dir', lay.cam_dir, '--json',
                           osp.join(lay.eval_dir, 'cams.json'), '--curve',
                           osp.join(lay.eval_dir, 'cam_curve.png'), '--no-progress',
                           *_cfg_args(lay.s1_options)),
            fixed_outputs([osp.join(lay.eval_dir, 'cams.json')])),
        PipelineStep(
            'eval_pseudo_labels', f'pseudo-label mIoU on the {s.eval_split} list',
            python_command('tools/eval_cam.py', s.stage1_config, '--split', s.eval_split,
                           '--label-dir', lay.label_dir, '--json',
                           osp.join(lay.eval_dir, 'pseudo_labels.json'), '--no-progress',
                           *_cfg_args(lay.s1_options)),
            fixed_outputs([osp.join(lay.eval_dir, 'pseudo_labels.json')])),
    ]


def _affinity_steps(s: PipelineSettings, lay: _Layout) -> List[PipelineStep]:
    """AffinityNet training, its random-walk refinement and the refined labels' score.

    None without ``affinity_config``.
    """
    if not s.affinity_config:
        return []
    aff_options = [*_data_root_options(load_config(s.affinity_config, []), s.data_root),
                   f'train_dataloader.dataset.label_dir={osp.abspath(lay.label_dir)}',
                   f'train_dataloader.dataset.ann_file={osp.abspath(lay.cam_list)}',
                   f'randomness.seed={s.seed}', *s.affinity_options]
    aff_dir = s.path('affinity')
    aff_ckpt = final_checkpoint(load_config(s.affinity_config, aff_options), aff_dir)
    return [
        PipelineStep(
            'affinity_train', f'train AffinityNet on the pseudo labels '
            f'({osp.basename(s.affinity_config)})',
            python_command('tools/train.py', s.affinity_config, '--work-dir', aff_dir,
                           *_cfg_args(aff_options)),
            fixed_outputs([aff_ckpt])),
        PipelineStep(
            'refined_labels', 'pseudo labels refined by the random walk',
            python_command('tools/refine_labels.py', s.affinity_config, aff_ckpt,
                           '--cam-dir', lay.cam_dir, '--out-dir', lay.refined_dir,
                           '--ann-file', osp.abspath(lay.cam_list), *s.refine_args,
                           *_cfg_args(aff_options)),
            per_image_outputs(lay.cam_list, lay.refined_dir, '.png'),
            extra_files=[osp.join(lay.refined_dir, REFINE_SETTINGS_FILE)]),
        PipelineStep(
            'eval_refined_labels', f'refined pseudo-label mIoU on the {s.eval_split} list',
            python_command('tools/eval_cam.py', s.stage1_config, '--split', s.eval_split,
                           '--label-dir', lay.refined_dir, '--json',
                           osp.join(lay.eval_dir, 'refined_labels.json'), '--no-progress',
                           *_cfg_args(lay.s1_options)),
            fixed_outputs([osp.join(lay.eval_dir, 'refined_labels.json')])),
    ]


def _stage2_steps(s: PipelineSettings, lay: _Layout) -> List[PipelineStep]:
    """Stage-2 training on the (refined, with AffinityNet) pseudo labels and its test."""
    labels = lay.refined_dir if s.affinity_config else lay.label_dir
    s2_options = [*_data_root_options(load_config(s.stage2_config, []), s.data_root),
                  f'train_dataloader.dataset.pseudo_label_dir={osp.abspath(labels)}',
                  f'train_dataloader.dataset.ann_file={osp.abspath(lay.cam_list)}',
                  f'randomness.seed={s.seed}', *s.stage2_options]
    s2_cfg = load_config(s.stage2_config, s2_options)
    s2_dir = s.path('stage2')
    s2_ckpt = final_checkpoint(s2_cfg, s2_dir)
    return [
        PipelineStep(
            'stage2_train', f'train the segmenter on the pseudo labels '
            f'({osp.basename(s.stage2_config)})',
            python_command('tools/train.py', s.stage2_config, '--work-dir', s2_dir,
                           *_cfg_args(s2_options)),
            fixed_outputs([s2_ckpt])),
        PipelineStep(
            'stage2_test', 'segmentation mIoU on the real validation masks',
            python_command('tools/test.py', s.stage2_config, s2_ckpt, '--work-dir',
                           s.path('stage2_test'), '--out-json',
                           osp.join(lay.eval_dir, 'segmentation.json'),
                           *_cfg_args(s2_options)),
            fixed_outputs([osp.join(lay.eval_dir, 'segmentation.json')])),
    ]


def build_steps(s: PipelineSettings) -> List[PipelineStep]:
    """The steps of the pipeline, in order: seven, ten with AffinityNet."""
    lay = _layout(s)
    # Stage 2 is built before AffinityNet: a missing stage-2 config is reported first.
    stage2 = _stage2_steps(s, lay)
    return [
        *_stage1_steps(s, lay),
        *_cam_steps(s, lay),
        *_pseudo_label_steps(s, lay),
        *_evaluation_steps(s, lay),
        *_affinity_steps(s, lay),
        *stage2,
    ]


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _seg_miou(metrics: Optional[dict]) -> Optional[float]:
    if not metrics:
        return None
    metrics = metrics.get('metrics', metrics)  # tools/test.py --out-json nests them
    for key, value in metrics.items():
        if key.split('/')[-1] == 'mIoU':
            return float(value)
    return None


def last_validation(work_dir: str, key: str = 'cam/mIoU') -> Optional[float]:
    """The last value of ``key`` logged in an mmengine work dir (None if never)."""
    return read_metric(work_dir, key)['last']


def collect_figures(s: PipelineSettings) -> Dict[str, Optional[float]]:
    """The headline figures (percent), None where a step has not produced them."""
    cams = _read_json(s.path('eval', 'cams.json')) or {}
    labels = _read_json(s.path('eval', 'pseudo_labels.json')) or {}
    refined = _read_json(s.path('eval', 'refined_labels.json')) or {}
    seg = _read_json(s.path('eval', 'segmentation.json'))
    return {
        'val_cam_mIoU': last_validation(s.path('stage1')),
        'cam_mIoU': cams.get('mIoU'),
        'cam_best_threshold': cams.get('best_threshold'),
        'pseudo_label_mIoU': labels.get('mIoU'),
        'pseudo_label_coverage': labels.get('coverage'),
        'refined_label_mIoU': refined.get('mIoU'),
        'refined_label_coverage': refined.get('coverage'),
        'segmentation_mIoU': _seg_miou(seg),
    }


def validation_split(cfg: Config) -> str:
    """Name of the list the stage-1 training validates on (``val``, ``train``, ...)."""
    ann_file = ((cfg.get('val_dataloader') or {}).get('dataset') or {}).get('ann_file')
    return osp.splitext(osp.basename(ann_file))[0] if ann_file else 'val'


def render_report(s: PipelineSettings, steps: Sequence[PipelineStep],
                  figures: Dict[str, Optional[float]], val_split: str = 'val') -> str:
    """Markdown report of the figures and of what each step did."""

    def fmt(x: Optional[float], digits: int = 2) -> str:
        return '-' if x is None else f'{x:.{digits}f}'

    lines = [
        '# WSSS pipeline report', '',
        f'- stage 1: `{s.stage1_config}`', f'- stage 2: `{s.stage2_config}`',
        f'- work dir: `{s.work_dir}`', '',
        '| stage | what | split | mIoU (%) |', '|---|---|---|---:|',
        f'| 1 | class maps (last validation of the training) | {val_split} '
        f'| {fmt(figures["val_cam_mIoU"])} |',
        f'| 1 | class maps (best background threshold {fmt(figures["cam_best_threshold"])}) '
        f'| {s.eval_split} | {fmt(figures["cam_mIoU"])} |',
        f'| 1 | pseudo labels ({fmt(figures["pseudo_label_coverage"], 1)}% of pixels '
        f'labelled) | {s.eval_split} | {fmt(figures["pseudo_label_mIoU"])} |',
        *([f'| 1 | pseudo labels after the AffinityNet random walk '
           f'({fmt(figures.get("refined_label_coverage"), 1)}% of pixels labelled) '
           f'| {s.eval_split} | {fmt(figures.get("refined_label_mIoU"))} |']
          if s.affinity_config else []),
        f'| 2 | segmentation | val | {fmt(figures["segmentation_mIoU"])} |', '',
        '| step | status | time (s) |', '|---|---|---:|',
    ]
    lines += [f'| {st.name} | {st.status} | {st.seconds:.0f} |' for st in steps]
    return '\n'.join(lines) + '\n'


def plan(steps: Sequence[PipelineStep], force: Sequence[str] = ()) -> List[str]:
    """Names of the steps a run would execute: the forced and the incomplete ones."""
    return [st.name for st in steps if st.name in force or not st.is_complete()]


def run_pipeline(s: PipelineSettings,
                 force: Sequence[str] = (),
                 log: Callable[[str], None] = print) -> Dict[str, Optional[float]]:
    """Runs every incomplete step, writes ``report.md`` and returns the figures.

    Args:
        s (PipelineSettings): What to run.
        force (Sequence[str]): Steps to run even if their outputs exist.
        log (Callable): Where progress messages go.

    Returns:
        dict: ``cam_mIoU``, ``pseudo_label_mIoU``, ``segmentation_mIoU`` and friends.
    """
    unknown = sorted(set(force) - set(STEP_NAMES))
    if unknown:
        raise KeyError(f'unknown step(s) {unknown}; the steps are {list(STEP_NAMES)}')
    os.makedirs(s.work_dir, exist_ok=True)
    steps = build_steps(s)
    todo = plan(steps, force)
    log(f'pipeline in {s.work_dir}: ' +
        (f'to run: {", ".join(todo)}' if todo else 'every step is complete'))
    # The tools run there, so relative paths in configs (data/...) resolve against it.
    repo = project_root()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (repo, os.environ.get('PYTHONPATH')) if p))
    for i, step in enumerate(steps, 1):
        if step.name not in todo:
            step.status = 'skipped'
            log(f'[{i}/{len(steps)} {step.name}] outputs complete, skipped')
            continue
        if step.name in force:
            # The tools skip outputs that exist: a forced step starts from nothing.
            removed = step.remove_outputs()
            log(f'[{i}/{len(steps)} {step.name}] forced: removed {removed} old output(s)')
        log(f'[{i}/{len(steps)} {step.name}] running')
        step.run(cwd=repo, env=env, log=log)
    figures = collect_figures(s)
    val_split = validation_split(load_config(s.stage1_config, s.stage1_options))
    report = render_report(s, steps, figures, val_split)
    with atomic_open(s.path('report.md'), 'w') as f:
        f.write(report)
    with atomic_open(s.path('report.json'), 'w') as f:
        json.dump(dict(figures=figures,
                       steps={st.name: dict(status=st.status, seconds=st.seconds)
                              for st in steps}), f, indent=2)
    log(report)
    return figures
