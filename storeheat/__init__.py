"""storeheat: privacy-safe shopper-movement data from store cameras."""

__version__ = "0.1.0"
