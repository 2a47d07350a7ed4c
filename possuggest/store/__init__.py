"""possuggest's own database: rule sets (written in one transaction, kept for rollback) and the events table."""
