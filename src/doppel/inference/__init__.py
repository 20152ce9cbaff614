"""Inference: asking a trained version (or the bare base model) for the person's reply."""
