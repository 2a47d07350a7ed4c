"""Live suggestions: the engine over the active rule set, reasons, the sale session, events and the basket API protocol."""
