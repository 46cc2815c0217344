"""The schema: which column plays which role, and ``infer_schema`` that proposes one.

A schema maps columns to the Open Inference roles: prediction id, timestamp, features, tags, prediction
label/score, actual label/score, embeddings (vector + optional raw text + optional link), model id /
version / environment. Features are everything the schema does not name otherwise, minus excluded and
id-like columns. ``infer_schema`` only *proposes*; the user confirms it in a form.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from .errors import SchemaError


class ModelType(str, Enum):
    BINARY = "binary_classification"
    MULTICLASS = "multiclass_classification"
    REGRESSION = "regression"

    @property
    def label(self) -> str:
        return {"binary_classification": "Binary classification",
                "multiclass_classification": "Multiclass classification",
                "regression": "Regression"}[self.value]


@dataclass(frozen=True)
class EmbeddingColumns:
    """One embedding: the vector column, and optionally its raw text and a link (URL) to its data."""

    vector: str
    raw_data: str | None = None
    link_to_data: str | None = None

    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.vector, self.raw_data, self.link_to_data) if c)


_SINGLE = ("prediction_id", "timestamp", "prediction_label", "prediction_score", "actual_label",
           "actual_score", "model_id", "model_version", "environment")


@dataclass(frozen=True)
class Schema:
    """Column roles. Immutable; use :meth:`replace` to change a field.

    ``class_scores`` holds (class, column) pairs when a multiclass model writes one score column per class.
    ``embeddings`` maps an embedding's name to its columns; ``prompt``/``response`` are the LLM embeddings.
    """

    prediction_id: str | None = None
    timestamp: str | None = None
    features: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    prediction_label: str | None = None
    prediction_score: str | None = None
    class_scores: tuple[tuple[str, str], ...] = ()
    actual_label: str | None = None
    actual_score: str | None = None
    embeddings: Mapping[str, EmbeddingColumns] = field(default_factory=dict)
    prompt: EmbeddingColumns | None = None
    response: EmbeddingColumns | None = None
    excluded: tuple[str, ...] = ()
    model_type: ModelType | None = None
    positive_class: str | None = None
    model_id: str | None = None
    model_version: str | None = None
    environment: str | None = None

    def __post_init__(self):
        # Normalise containers so equality and hashing are by value and lists from JSON/forms are accepted.
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "excluded", tuple(self.excluded))
        object.__setattr__(self, "class_scores", tuple((str(k), v) for k, v in self.class_scores))
        emb = {str(k): (v if isinstance(v, EmbeddingColumns) else EmbeddingColumns(**v))
               for k, v in dict(self.embeddings).items()}
        object.__setattr__(self, "embeddings", emb)
        for attr in ("prompt", "response"):
            v = getattr(self, attr)
            if isinstance(v, Mapping):
                object.__setattr__(self, attr, EmbeddingColumns(**v))
        if self.model_type is not None and not isinstance(self.model_type, ModelType):
            try:
                object.__setattr__(self, "model_type", ModelType(self.model_type))
            except ValueError:
                raise SchemaError(f"Unknown model type {self.model_type!r}.",
                                  "Use one of: " + ", ".join(m.value for m in ModelType)) from None
        if self.positive_class is not None:
            object.__setattr__(self, "positive_class", str(self.positive_class))

    def __hash__(self) -> int:
        return hash(self.to_json())

    # ---- views ---------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> "Schema":
        return dataclasses.replace(self, **changes)

    def all_embeddings(self) -> dict[str, EmbeddingColumns]:
        """Every embedding by name, including prompt and response."""
        out = dict(self.embeddings)
        if self.prompt:
            out["prompt"] = self.prompt
        if self.response:
            out["response"] = self.response
        return out

    def roles(self) -> dict[str, str]:
        """column -> role, for every column the schema names (features and tags included)."""
        out: dict[str, str] = {}
        for c in self.features:
            out[c] = "feature"
        for c in self.tags:
            out[c] = "tag"
        for attr in _SINGLE:
            c = getattr(self, attr)
            if c:
                out[c] = attr
        for _, c in self.class_scores:
            out[c] = "class_score"
        for name, e in self.all_embeddings().items():
            out[e.vector] = "embedding"
            if e.raw_data:
                out[e.raw_data] = "raw_data"
            if e.link_to_data:
                out[e.link_to_data] = "link_to_data"
        for c in self.excluded:
            out[c] = "excluded"
        return out

    def columns(self) -> tuple[str, ...]:
        """Every column the schema names, excluded ones left out."""
        return tuple(c for c, r in self.roles().items() if r != "excluded")

    def drift_columns(self) -> list[tuple[str, str]]:
        """(column, role) pairs compared column by column: features, tags, prediction and actual columns."""
        out = [(c, "feature") for c in self.features] + [(c, "tag") for c in self.tags]
        for attr, role in (("prediction_label", "prediction"), ("prediction_score", "prediction"),
                           ("actual_label", "actual"), ("actual_score", "actual")):
            c = getattr(self, attr)
            if c:
                out.append((c, role))
        out += [(c, "prediction") for _, c in self.class_scores]
        return out

    # ---- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model_type"] = self.model_type.value if self.model_type else None
        d["embeddings"] = {k: dataclasses.asdict(v) for k, v in self.embeddings.items()}
        d["class_scores"] = [list(p) for p in self.class_scores]
        for k in ("features", "tags", "excluded"):
            d[k] = list(d[k])
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Schema":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise SchemaError(f"Unknown schema field(s): {', '.join(sorted(unknown))}.",
                              "Fields are: " + ", ".join(sorted(known)))
        return cls(**dict(d))

    @classmethod
    def from_json(cls, text: str) -> "Schema":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SchemaError(f"The schema is not valid JSON: {e}.") from None
        if not isinstance(d, dict):
            raise SchemaError("The schema JSON must be an object of fields.")
        return cls.from_dict(d)


# ================================================================================================
# Inference
# ================================================================================================

_ID = re.compile(r"^(prediction_?id|pred_?id|inference_?id|request_?id|event_?id|record_?id|row_?id|uuid|id|"
                 r".*_id|.*_uuid)$", re.I)
_TS = re.compile(r"^(prediction_?ts|prediction_?time(stamp)?|timestamp|ts|time|datetime|date|event_?time(stamp)?|"
                 r"event_?ts|created_?at|.*_ts|.*_time(stamp)?|.*_at|.*_date)$", re.I)
_PRED_LABEL = re.compile(r"^(predicted_?.*|prediction|prediction_?label|pred|pred_?label|y_?pred|yhat|y_hat|"
                         r"predicted|model_?output|output_?label)$", re.I)
_PRED_SCORE = re.compile(r"^(prediction_?score|predicted_?score|pred_?score|score|.*_proba|proba|probability|"
                         r"prediction_?probability|pred_?prob|y_?score|y_?prob|confidence)$", re.I)
_ACTUAL_LABEL = re.compile(r"^(actual_?.*|actual|label|target|y_?true|y|ground_?truth|true_?label|gt|truth)$", re.I)
_ACTUAL_SCORE = re.compile(r"^(actual_?score|actual_?value|target_?score|y_?true_?score)$", re.I)
_CLASS_SCORE = re.compile(r"^(?:score|proba|prob|probability|p)_(.+)$|^(.+)_(?:score|proba|prob|probability)$", re.I)
_TAG = re.compile(r"^(tag[s]?[_.:].+|.*_tag|app_?version|.*_version|version)$", re.I)
_MODEL_ID = re.compile(r"^model_?(id|name)$", re.I)
_MODEL_VERSION = re.compile(r"^model_?version$", re.I)
_ENV = re.compile(r"^(environment|env)$", re.I)
_VECTOR_SUFFIX = re.compile(r"(_vectors?|_embeddings?|_emb|_vec)$", re.I)
_TEXT_NAME = re.compile(r"(text|prompt|response|sentence|document|content|body|message|raw|caption|query)", re.I)
_LINK_NAME = re.compile(r"(url|link|uri|path|image|img|href)", re.I)


def _as_table(obj: Any) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    table = getattr(obj, "table", None)
    if isinstance(table, pa.Table):
        return table
    try:  # a pandas DataFrame
        return pa.Table.from_pandas(obj, preserve_index=False)
    except Exception:
        raise SchemaError(f"Cannot infer a schema from {type(obj).__name__}.",
                          "Pass datasets from obs.read, pyarrow Tables or pandas DataFrames.") from None


def first_of_each_name(t: pa.Table) -> pa.Table:
    """The table with only the first column of each name (duplicates are reported by validation)."""
    names = t.column_names
    if len(set(names)) == len(names):
        return t
    keep = [i for i, n in enumerate(names) if names.index(n) == i]
    return pa.Table.from_arrays([t.column(i) for i in keep], names=[names[i] for i in keep])


def _is_vector(t: pa.DataType) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) and (
        pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type))


def _is_num(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_str(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


@dataclass
class _Col:
    name: str
    type: pa.DataType
    n: int
    n_valid: int
    n_distinct: int
    mean_len: float = 0.0
    space_share: float = 0.0
    url_share: float = 0.0
    values: tuple = ()   # up to a few distinct values, for label inference


def _profile(table: pa.Table, name: str, sample_rows: int = 20_000) -> _Col:
    arr = table.column(name)
    if table.num_rows > sample_rows:
        arr = arr.slice(0, sample_rows)
    t = arr.type
    n = len(arr)
    n_valid = n - arr.null_count
    col = _Col(name, t, n, n_valid, 0)
    if _is_vector(t) or pa.types.is_nested(t):
        return col
    try:
        distinct = pc.unique(arr.drop_null())
        col.n_distinct = len(distinct)
        if len(distinct) <= 50:
            col.values = tuple(v for v in distinct.to_pylist())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        col.n_distinct = n_valid
    if _is_str(t) and n_valid:
        s = arr.drop_null()
        col.mean_len = float(pc.mean(pc.utf8_length(s)).as_py() or 0)
        col.space_share = float(pc.mean(pc.cast(pc.match_substring(s, " "), pa.int8())).as_py() or 0)
        col.url_share = float(pc.mean(pc.cast(pc.match_substring_regex(s, r"^(https?://|data:|s3://|gs://|file:/|/)"),
                                              pa.int8())).as_py() or 0)
    return col


def _looks_like_timestamp(c: _Col) -> bool:
    t = c.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return True
    if _TS.match(c.name) and (_is_str(t) or _is_num(t)):
        return True
    return False


def _class_name(col: str) -> str | None:
    m = _CLASS_SCORE.match(col)
    if not m:
        return None
    return m.group(1) or m.group(2)


def infer_schema(*datasets: Any) -> Schema:
    """Propose a schema from column names and types of one or more datasets (reference, primary).

    Rules, in order: vector columns -> embeddings (with a text column -> raw_data and a URL column ->
    link_to_data); timestamp by type or name; prediction id = a unique-per-row id-like column (other
    unique id-like columns are excluded, never features); prediction label / score, actual label / score,
    per-class score columns, model id / version / environment and tags by name; everything else is a
    feature. The model type follows from the label and score columns.
    """
    tables = [first_of_each_name(_as_table(d)) for d in datasets if d is not None]
    if not tables:
        raise SchemaError("No dataset to infer a schema from.", "Load a reference or a primary file first.")
    # Columns in first-seen order across datasets; profile on the dataset that has the column.
    order: list[str] = []
    owner: dict[str, pa.Table] = {}
    for t in tables:
        for name in t.column_names:
            if name not in owner:
                owner[name] = t
                order.append(name)
    cols = {name: _profile(owner[name], name) for name in order}
    taken: set[str] = set()

    def take(pred) -> str | None:
        for name in order:
            if name not in taken and pred(cols[name]):
                taken.add(name)
                return name
        return None

    # Embeddings -------------------------------------------------------------------------------
    vectors = [n for n in order if _is_vector(cols[n].type)]
    taken.update(vectors)
    text_cols = [n for n in order if n not in taken and _is_str(cols[n].type)
                 and cols[n].url_share < 0.5 and (cols[n].space_share > 0.5 and cols[n].mean_len > 15)]
    link_cols = [n for n in order if n not in taken and _is_str(cols[n].type) and cols[n].url_share >= 0.9]

    def stem(name: str) -> str:
        return _VECTOR_SUFFIX.sub("", name).lower()

    def partner(vec: str, candidates: list[str]) -> str | None:
        s = stem(vec)
        free = [c for c in candidates if c not in taken]
        for c in free:  # name shares the vector's stem: text_vector <-> text / text_raw
            if s and (c.lower().startswith(s) or s.startswith(c.lower().split("_")[0])):
                return c
        if len(vectors) == 1 and free:
            return free[0]
        return None

    embeddings: dict[str, EmbeddingColumns] = {}
    prompt = response = None
    for vec in vectors:
        raw = partner(vec, text_cols)
        if raw:
            taken.add(raw)
        link = partner(vec, link_cols)
        if link:
            taken.add(link)
        ec = EmbeddingColumns(vec, raw, link)
        s = stem(vec)
        if s == "prompt" and prompt is None:
            prompt = ec
        elif s == "response" and response is None:
            response = ec
        else:
            name = f"{s}_embedding" if _VECTOR_SUFFIX.search(vec) and not vec.lower().endswith("embedding") else vec
            embeddings[name] = ec

    # Single roles -----------------------------------------------------------------------------
    timestamp = take(lambda c: (pa.types.is_timestamp(c.type) or pa.types.is_date(c.type)) and _TS.match(c.name)) \
        or take(lambda c: pa.types.is_timestamp(c.type)) or take(_looks_like_timestamp)

    def unique(c: _Col) -> bool:
        return c.n_valid == c.n and c.n_distinct == c.n and c.n > 1 and (_is_str(c.type) or pa.types.is_integer(c.type))

    prediction_id = take(lambda c: _ID.match(c.name) and unique(c) and not _MODEL_ID.match(c.name))
    model_id = take(lambda c: bool(_MODEL_ID.match(c.name)))
    model_version = take(lambda c: bool(_MODEL_VERSION.match(c.name)))
    environment = take(lambda c: bool(_ENV.match(c.name)))

    def scalar(c: _Col) -> bool:
        return _is_num(c.type) or _is_str(c.type) or pa.types.is_boolean(c.type) or pa.types.is_dictionary(c.type)

    prediction_score = take(lambda c: _PRED_SCORE.match(c.name) and _is_num(c.type))
    actual_score = take(lambda c: _ACTUAL_SCORE.match(c.name) and _is_num(c.type))
    prediction_label = take(lambda c: _PRED_LABEL.match(c.name) and scalar(c) and not _PRED_SCORE.match(c.name))
    actual_label = take(lambda c: _ACTUAL_LABEL.match(c.name) and scalar(c) and not _ACTUAL_SCORE.match(c.name))

    # Per-class score columns (score_cat, dog_proba, ...) whose class names are prediction labels.
    class_scores: list[tuple[str, str]] = []
    label_values = set()
    for lc in (prediction_label, actual_label):
        if lc:
            label_values |= {str(v) for v in cols[lc].values}
    if label_values:
        for name in order:
            cls = _class_name(name)
            if name not in taken and cls is not None and _is_num(cols[name].type) and cls in label_values:
                class_scores.append((cls, name))
                taken.add(name)
    if len(class_scores) < 2:
        taken.difference_update(c for _, c in class_scores)
        class_scores = []

    tags = [n for n in order if n not in taken and _TAG.match(n) and scalar(cols[n])]
    taken.update(tags)

    # Everything else: features, unless id-like, text, link or unusable.
    excluded: list[str] = []
    features: list[str] = []
    for name in order:
        if name in taken:
            continue
        c = cols[name]
        id_like = unique(c) and (_ID.match(name) or (_is_str(c.type) and c.n >= 20))
        if id_like and prediction_id is None and _ID.match(name):
            prediction_id = name
        elif id_like or (_is_str(c.type) and (c.url_share >= 0.9 or (c.space_share > 0.5 and c.mean_len > 30))):
            excluded.append(name)
        elif c.n_valid > 0 and not scalar(c) and not (pa.types.is_timestamp(c.type) or pa.types.is_date(c.type)):
            excluded.append(name)  # nested structs, maps, binary: not comparable as a feature
        else:
            features.append(name)

    model_type = _infer_model_type(cols, prediction_label, prediction_score, actual_label, actual_score, class_scores)
    positive = _infer_positive_class(cols, model_type, prediction_label, actual_label, tables)
    return Schema(
        prediction_id=prediction_id, timestamp=timestamp, features=tuple(features), tags=tuple(tags),
        prediction_label=prediction_label, prediction_score=prediction_score, class_scores=tuple(class_scores),
        actual_label=actual_label, actual_score=actual_score, embeddings=embeddings, prompt=prompt,
        response=response, excluded=tuple(excluded), model_type=model_type, positive_class=positive,
        model_id=model_id, model_version=model_version, environment=environment,
    )


def _infer_model_type(cols, pred_label, pred_score, act_label, act_score, class_scores) -> ModelType | None:
    if class_scores:
        return ModelType.MULTICLASS
    label_cols = [c for c in (pred_label, act_label) if c]
    if label_cols:
        c0 = cols[label_cols[0]]
        values = set()
        for lc in label_cols:
            values |= {v for v in cols[lc].values if v is not None}
        distinct = max(cols[lc].n_distinct for lc in label_cols)
        if pa.types.is_floating(c0.type) and distinct > 20:
            return ModelType.REGRESSION
        if distinct <= 2 or len(values) <= 2 and distinct <= 2:
            return ModelType.BINARY
        if distinct <= 50:
            return ModelType.MULTICLASS
        return ModelType.REGRESSION if _is_num(c0.type) else ModelType.MULTICLASS
    if pred_score and act_score:
        return ModelType.REGRESSION
    if pred_score:  # a probability without labels: the usual binary set-up
        return ModelType.BINARY
    return None


_POSITIVE_WORDS = ("1", "true", "yes", "y", "positive", "pos", "fraud", "churn", "spam", "escalate", "default",
                   "anomaly", "defect", "fail", "failure", "bad", "malignant", "click", "convert", "buy")


def _infer_positive_class(cols, model_type, pred_label, act_label, tables) -> str | None:
    if model_type is not ModelType.BINARY:
        return None
    values: list = []
    for lc in (act_label, pred_label):
        if lc:
            values += [v for v in cols[lc].values if v is not None and v not in values]
    if not values:
        return None
    values = [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]  # 1.0 -> "1"
    if len(values) == 1:
        return str(values[0])
    norm = {str(v).strip().lower(): str(v) for v in values}
    for w in _POSITIVE_WORDS:
        if w in norm:
            return norm[w]
    # Otherwise the minority class of the actual (or predicted) labels, the usual "positive".
    lc = act_label or pred_label
    arr = next(t.column(lc) for t in tables if lc in t.column_names)
    counts = pc.value_counts(arr.drop_null()).to_pylist()
    if not counts:
        return str(values[0])
    return str(min(counts, key=lambda d: (d["counts"], str(d["values"])))["values"])

