"""The cashier panel (PySide6): a narrow side window beside the till that shows live
cross-sell and upgrade suggestions for the sale being rung up.

Everything that touches SQLite (the till watcher, refresh, the event writer, building the
demo store, loading the rule set) runs off the GUI thread; see ``controller`` and ``workers``.
"""
