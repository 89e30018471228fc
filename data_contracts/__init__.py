"""storeheat: data_contracts."""
