import gc

from mutualaid.gc_tuning import BATCH_THRESHOLDS, batch_gc


def test_batch_gc_relaxes_and_restores_thresholds():
    before = gc.get_threshold()
    with batch_gc():
        assert gc.get_threshold() == BATCH_THRESHOLDS
        with batch_gc():  # nested: unchanged, and the outer restore still happens
            assert gc.get_threshold() == BATCH_THRESHOLDS
        assert gc.get_threshold() == BATCH_THRESHOLDS
    assert gc.get_threshold() == before


def test_batch_gc_restores_after_an_error():
    before = gc.get_threshold()
    try:
        with batch_gc():
            raise RuntimeError
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
