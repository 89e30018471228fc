"""storeheat: streaming."""
