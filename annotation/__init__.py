"""storeheat: annotation."""
