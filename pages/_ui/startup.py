"""Process-wide start-up work (holds no user data, so a global resource cache is right here)."""

from __future__ import annotations

import os

import streamlit as st


@st.cache_resource(show_spinner=False)
def _warm_up_once():
    # The first UMAP fit in a process compiles numba code (20-90 s); do it in the background at start so
    # the first Embeddings visit does not pay for it.
    from obs_core import warmup
    return warmup.warm_up(background=True)


def start_warm_up() -> None:
    if os.environ.get("OBS_WARMUP", "1") != "0":
        _warm_up_once()
