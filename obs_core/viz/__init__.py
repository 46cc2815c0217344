"""Pure Plotly figure builders (no streamlit): one module per area (drift, quality, performance, embeddings)."""
