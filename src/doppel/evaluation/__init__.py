"""Evaluation: how well a version fits, writes and decides like the person."""
