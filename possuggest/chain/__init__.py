"""Chains: every store's sales mined together on Apache Spark (``possuggest chain mine``),
shipped to each store as a rule pack it loads offline (``possuggest rules import``).

Spark is only needed at head office: the store's side (:mod:`possuggest.chain.importer`)
reads a pack with the standard library and pandas. :mod:`possuggest.chain.session` starts
Spark; :mod:`~possuggest.chain.sources` reads the stores' sales; :mod:`~possuggest.chain.counting`,
:mod:`~possuggest.chain.itemsets` and :mod:`~possuggest.chain.upgrades` compute the very rules
a store's own refresh would (``possuggest.mining.miner``), per store, per region and
chain-wide; :mod:`~possuggest.chain.job` ties them together and writes the packs.
"""
