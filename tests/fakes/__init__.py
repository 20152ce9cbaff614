"""Stand-ins for what the tests talk to but cannot run here, and the helpers to serve them.

* :mod:`tests.fakes.ollama_server`: a server enforcing Ollama's documented HTTP API, answering with llama.cpp.
* :mod:`tests.fakes.failing_server`: a host that answers every request with an error status.
* :mod:`tests.fakes.llamacpp_server`: not a fake: llama-cpp-python's real OpenAI-compatible server, in a subprocess.
* :mod:`tests.fakes.uvicorn_thread`: serve an ASGI app on a free local port in a background thread.
* :mod:`tests.fakes.ports`: a free local TCP port.
"""
