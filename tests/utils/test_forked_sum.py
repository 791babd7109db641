import os

import numpy as np
import pytest

from projects.acr.utils.forked_sum import fork_available, sum_in_forks

pytestmark = pytest.mark.skipif(not fork_available(), reason='needs fork')


def test_sums_every_share_and_reports_progress():
    data = np.arange(100)  # shared with the workers by fork, not pickled
    ticks = []

    def share(rank, tick):
        part = data[rank::3]
        tick(part.size)
        return np.array([part.sum(), part.size])

    total = sum_in_forks(share, workers=3, on_progress=ticks.append)
    np.testing.assert_array_equal(total, [data.sum(), 100])
    assert sorted(ticks) == [33, 33, 34]


def test_worker_exception_is_raised_with_its_traceback():
    def share(rank, tick):
        if rank == 1:
            raise ValueError('mask img7.png has value 9')
        return np.zeros(2)

    with pytest.raises(ValueError, match='img7.png') as info:
        sum_in_forks(share, workers=2)
    assert 'in worker 1 of 2' in str(info.value.__cause__)


def test_worker_that_dies_is_reported():
    def share(rank, tick):
        if rank == 0:
            os._exit(3)
        return np.zeros(2)

    with pytest.raises(RuntimeError, match='exited with code 3'):
        sum_in_forks(share, workers=2, poll_s=0.1)
