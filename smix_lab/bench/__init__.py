"""Benchmark building blocks shared by the scripts in tools/ and by the tests: real photographs,
and throughput through timm's own data loader."""
