"""Privacy: other people's data replaced by consistent fakes before training, and forget requests honoured.

The flow is one way: sources read records → ``forget`` leaves out what was asked to be forgotten →
``records`` pseudonymises what is left (``detect`` finds, ``fakes`` replaces) → the data set. Nothing
here stores a mapping from fakes back to real values (a run holds one in memory while it rewrites).
"""
