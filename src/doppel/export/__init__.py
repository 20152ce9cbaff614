"""A trained version written out for other runtimes (llama.cpp, ...)."""
