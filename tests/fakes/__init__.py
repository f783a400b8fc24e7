"""Reusable fakes for tests and benchmarks (no network anywhere in the test suite)."""
