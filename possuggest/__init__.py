"""possuggest: till-side cross-sell and upsell suggestions mined from the store's own sales."""

__version__ = "0.1.0"
