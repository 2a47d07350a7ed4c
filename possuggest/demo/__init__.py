"""The demo store: a deterministic hardware-and-garden till generator and a till simulator that rings up sales."""
