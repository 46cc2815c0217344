"""obs: compare a reference and a primary set of model inferences.

    import obs_core as obs
    ref = obs.read("train.parquet", name="training")
    prod = obs.read("prod.csv")
    schema = obs.infer_schema(ref, prod)
    problems = obs.validate(schema, reference=ref, primary=prod)
    cmp = obs.Comparison(schema, primary=prod, reference=ref)
    cmp.drift()

This package never imports streamlit; umap and hdbscan are imported only when a point cloud is computed.
"""

from .comparison import Comparison
from .errors import FilterError, InputError, LimitExceeded, NotEnoughData, ObsError, SchemaError
from .io import Dataset, Limits, read
from .schema import EmbeddingColumns, ModelType, Schema, infer_schema
from .store import Filter, Store, TimeRange
from .validate import Problem, validate

__all__ = [
    "Comparison", "Dataset", "EmbeddingColumns", "Filter", "FilterError", "Hdbscan", "InputError", "LimitExceeded",
    "Limits", "ModelType", "NotEnoughData", "ObsError", "Problem", "Schema", "SchemaError", "Store", "TimeRange",
    "Umap", "infer_schema", "read", "validate",
]


def __getattr__(name):  # Umap/Hdbscan live with the embedding pipeline; keep `import obs_core` light.
    if name in ("Umap", "Hdbscan"):
        from . import embeddings
        return getattr(embeddings, name)
    raise AttributeError(f"module 'obs_core' has no attribute {name!r}")
