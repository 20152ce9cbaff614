"""The scorecard's parts, one module each: every part takes the evaluation's setup and returns its typed block."""
