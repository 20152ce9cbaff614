"""Retrieval over the person's own records: an index in doppel's PostgreSQL (pgvector), searched when the twin answers.

store.py holds the table and the nearest-neighbour query, indexing.py keeps it equal to the data set,
search.py embeds a question and asks, prompt.py puts what came back into the prompt.
"""
