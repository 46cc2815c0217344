"""Streamlit helpers shared by the pages (session state, cached obs_core calls, widgets)."""
