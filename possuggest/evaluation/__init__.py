"""Offline quality: sales files, the hide-one harness, the textbook baselines and the engine as a recommender."""
