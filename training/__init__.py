"""storeheat: training."""
