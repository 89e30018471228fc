"""storeheat: benchmarks."""
