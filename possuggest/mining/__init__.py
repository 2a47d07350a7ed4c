"""From sales to rules: the miner (pair counts, EASE, mlxtend fpgrowth, upgrades) and the refresh that writes a rule set."""
