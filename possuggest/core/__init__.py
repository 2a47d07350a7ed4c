"""Shared types at the bottom of the stack: errors, settings, paths, logging, progress and cancel callbacks, products, transactions and time-of-day buckets. Imports nothing else of possuggest."""
