"""How fast search methods find a reference's best value, and what pruning saves.

Given a reference study (e.g. a grid over the space) and, per method, one study per seed
(e.g. TPE and random search, each with several seeds), it counts for every study how many
trials it took until its best finished value reached the reference's best, and how much
training time its pruner saved: a pruned trial would have run as many validations as the
complete trials of its study, at its own time per validation.
"""
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from .optuna_study import STUDY_DB


def _better_or_equal(a: float, b: float, direction: StudyDirection) -> bool:
    return a >= b if direction == StudyDirection.MAXIMIZE else a <= b


def _ran(study: optuna.Study) -> List[FrozenTrial]:
    # The trials that used the budget, in the order they were created; re-queued copies
    # stand for the trial they continue, skipped ones never ran.
    requeued = set()
    trials = study.get_trials(deepcopy=False)
    for t in trials:
        requeued.update(t.system_attrs.get('retry_history', []))
    return [t for t in trials if t.number not in requeued and 'skipped' not in t.user_attrs
            and t.state.is_finished()]


def best_value(study: optuna.Study) -> Optional[float]:
    """The best value of the study's complete trials (None without one)."""
    values = [t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, ))]
    if not values:
        return None
    return max(values) if study.direction == StudyDirection.MAXIMIZE else min(values)


def trials_to_reach(study: optuna.Study, target: float, tolerance: float = 0.0) -> Optional[int]:
    """Number of trials run until a complete trial's value reached ``target``.

    Args:
        study (optuna.Study): The study.
        target (float): The value to reach (e.g. the reference's best).
        tolerance (float): Accept values within ``tolerance`` of the target.

    Returns:
        int | None: The 1-based count of finished trials (pruned and failed ones count:
        they cost a trial) up to the first that reached it; None if none did.
    """
    goal = target - tolerance if study.direction == StudyDirection.MAXIMIZE else \
        target + tolerance
    for count, t in enumerate(_ran(study), 1):
        if t.state == TrialState.COMPLETE and _better_or_equal(t.value, goal, study.direction):
            return count
    return None


def pruning_savings(study: optuna.Study) -> Dict[str, float]:
    """Training time the pruner saved.

    Returns:
        dict: ``spent`` (seconds of all finished trials), ``saved`` (seconds the pruned
        trials would have needed to finish: per validation as long as they ran, as many
        validations as the complete trials had), ``fraction`` (saved / (spent + saved)) and
        ``pruned`` (number of pruned trials).
    """
    ran = [t for t in _ran(study) if t.duration is not None]
    complete = [t for t in ran if t.state == TrialState.COMPLETE]
    full = max((len(t.intermediate_values) for t in complete), default=0)
    spent = sum(t.duration.total_seconds() for t in ran)
    saved = 0.0
    pruned = [t for t in ran if t.state == TrialState.PRUNED]
    for t in pruned:
        done = len(t.intermediate_values)
        if done and full > done:
            saved += t.duration.total_seconds() / done * (full - done)
    total = spent + saved
    return dict(spent=spent, saved=saved, fraction=saved / total if total else 0.0,
                pruned=float(len(pruned)))


def _mean_std(values: Sequence[float]) -> str:
    if not values:
        return ''
    mean = sum(values) / len(values)
    if len(values) < 2:
        return f'{mean:.1f}'
    std = math.sqrt(sum((v - mean)**2 for v in values) / (len(values) - 1))
    return f'{mean:.1f} ± {std:.1f}'


def comparison_table(reference: optuna.Study, methods: Dict[str, Sequence[optuna.Study]],
                     tolerance: float = 0.0) -> str:
    """A markdown table: per method, trials to reach the reference's best and time saved.

    Args:
        reference (optuna.Study): Its best complete value is the target.
        methods (dict[str, Sequence[optuna.Study]]): Studies per method, one per seed.
        tolerance (float): Accepted distance to the target.

    Returns:
        str: The table, ending with a newline.

    Raises:
        ValueError: The reference has no complete trial.
    """
    target = best_value(reference)
    if target is None:
        raise ValueError(f'reference study "{reference.study_name}" has no complete trial')
    lines = [f'Target: {target:.2f}, the best of {len(_ran(reference))} reference trials '
             f'("{reference.study_name}"), within {tolerance:g}.', '',
             '| method | studies | reached | trials to reach (mean ± sd) | per study | '
             'best (mean ± sd) | pruned trials | time saved by pruning |',
             '|---|---:|---:|---:|---|---:|---:|---:|']
    for name, studies in methods.items():
        reach = [trials_to_reach(s, target, tolerance) for s in studies]
        reached = [r for r in reach if r is not None]
        budget = [len(_ran(s)) for s in studies]
        per_study = ', '.join(str(r) if r is not None else f'>{b}' for r, b in zip(reach, budget))
        bests = [b for b in (best_value(s) for s in studies) if b is not None]
        savings = [pruning_savings(s) for s in studies]
        spent = sum(s['spent'] for s in savings)
        saved = sum(s['saved'] for s in savings)
        fraction = saved / (spent + saved) if spent + saved else 0.0
        lines.append(f'| {name} | {len(studies)} | {len(reached)}/{len(studies)} | '
                     f'{_mean_std(reached)} | {per_study} | {_mean_std(bests)} | '
                     f'{int(sum(s["pruned"] for s in savings))} | '
                     f'{saved / 60:.1f} min ({100 * fraction:.0f}%) |')
    return '\n'.join(lines) + '\n'


def load_sweep_study(location: str, study_name: Optional[str] = None) -> optuna.Study:
    """A finished sweep's study, from its sweep dir (``study.db`` inside) or a storage URL.

    Args:
        location (str): ``work_dirs/sweeps/<sweep>`` or an RDB URL.
        study_name (str, optional): Needed when the storage holds several studies.

    Raises:
        FileNotFoundError: A directory without ``study.db``.
        ValueError: The storage holds no study, or several and no name was given.
    """
    url = location
    if '://' not in location:
        path = osp.join(location, STUDY_DB)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{location} holds no {STUDY_DB}')
        url = 'sqlite:///' + osp.abspath(path)
    names = optuna.get_all_study_names(storage=url)
    if study_name is None:
        if len(names) != 1:
            raise ValueError(f'{location} holds the studies {names}; name one')
        study_name = names[0]
    elif study_name not in names:
        raise ValueError(f'{location} has no study "{study_name}" (it has {names})')
    return optuna.load_study(study_name=study_name, storage=url)
