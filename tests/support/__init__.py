"""Test support code: the fault-injection and reader-fuzzing harnesses.

The tests (tests/test_faults.py, tests/test_db_failures.py, tests/test_fuzz_readers.py)
import them from here; benchmarks/faults.py and benchmarks/fuzz_readers.py hold and run the
long campaigns and report their figures.
"""
