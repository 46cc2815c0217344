"""Generate the bundled demo dataset for obs.

One model's inferences: a support-ticket escalation classifier (binary:
does this customer-support ticket need escalation?).

    reference.parquet   training/validation period, 2026-09-01 .. 2026-09-29 UTC
    production.parquet  later period,               2026-10-01 .. 2026-10-29 UTC

Production is drawn from exactly the same generating process as the
reference, and then four problems are planted (see README.md):

    1. order_value x1.6 for rows with prediction_ts >= 2026-10-15 00:00 UTC
    2. channel gains the unseen category "social_media" (720 rows = 12 %)
    3. customer_age null rate rises from 2 % to 45 % from 2026-10-20 00:00 UTC
    4. new embedding cluster "app crash after update" (600 rows = 10 %,
       only from 2026-10-08, app_version "5.2") where the model is much worse

Deterministic: fixed seed, numpy only for randomness, pyarrow to write.
Run:  python sample_data/generate.py      (writes next to this file)
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 3
N_REF = 6000
N_PROD = 6000
DIM = 128

HERE = os.path.dirname(os.path.abspath(__file__))

US_PER_DAY = 86_400 * 10**6
# microseconds since the unix epoch, UTC
REF_START = np.datetime64("2026-09-01T00:00:00", "us")
PROD_START = np.datetime64("2026-10-01T00:00:00", "us")
N_DAYS = 28
SHIFT_ONSET = np.datetime64("2026-10-15T00:00:00", "us")
MISSING_ONSET = np.datetime64("2026-10-20T00:00:00", "us")
CRASH_ONSET = np.datetime64("2026-10-08T00:00:00", "us")

ORDER_VALUE_FACTOR = 1.6
SOCIAL_MEDIA_ROWS = 720  # 12 % of production
CRASH_ROWS = 600  # 10 % of production
AGE_MISSING_BASE = 0.02
AGE_MISSING_AFTER = 0.45

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------
REGIONS = ["north_america", "europe", "asia_pacific", "latin_america"]
REGION_P = [0.38, 0.30, 0.20, 0.12]

CHANNELS = ["email", "chat", "phone"]
# channel mix depends on the plan (enterprise customers phone more)
CHANNEL_P_BY_PLAN = {
    "free": [0.48, 0.38, 0.14],
    "pro": [0.40, 0.36, 0.24],
    "enterprise": [0.30, 0.30, 0.40],
}

PLANS = ["free", "pro", "enterprise"]
PLAN_P = [0.50, 0.35, 0.15]

PRODUCT_CATEGORIES = [
    "electronics",
    "home_kitchen",
    "apparel",
    "beauty",
    "sports_outdoors",
    "books_media",
]
PRODUCT_P = [0.24, 0.20, 0.20, 0.12, 0.12, 0.12]
ORDER_MEDIAN = {  # dollars
    "electronics": 105.0,
    "home_kitchen": 85.0,
    "apparel": 75.0,
    "beauty": 65.0,
    "sports_outdoors": 85.0,
    "books_media": 60.0,
}
PLAN_ORDER_MULT = {"free": 1.0, "pro": 1.15, "enterprise": 1.5}
PRODUCT_NOUNS = {
    "electronics": ["headphones", "laptop charger", "smart speaker", "monitor", "phone case", "webcam"],
    "home_kitchen": ["blender", "coffee maker", "knife set", "air fryer", "bed sheet set", "desk lamp"],
    "apparel": ["jacket", "pair of running shoes", "pair of jeans", "winter coat", "sweater", "backpack"],
    "beauty": ["skincare set", "hair dryer", "perfume", "makeup palette", "electric toothbrush", "shampoo bundle"],
    "sports_outdoors": ["yoga mat", "tent", "bike helmet", "dumbbell set", "pair of hiking boots", "water bottle"],
    "books_media": ["box set", "cookbook", "vinyl record", "board game", "audiobook bundle", "comic collection"],
}

APP_VERSIONS = ["5.0", "5.1"]
APP_VERSION_P = [0.35, 0.65]

# The 8 reference topics.  Each topic has 3 sub-topics (sub-clusters in the
# embedding); each sub-topic has 2 phrasings.  Slots are filled per row.
TOPICS = [
    "billing",
    "shipping_delay",
    "login_problem",
    "refund",
    "damaged_product",
    "account_change",
    "feature_question",
    "cancellation",
]
TOPIC_P = [0.16, 0.18, 0.12, 0.14, 0.10, 0.10, 0.10, 0.10]

TEMPLATES = {
    "billing": [
        [
            "I was charged ${amount} twice for order #{order}",
            "There is a duplicate charge of ${amount} on my card for order #{order}",
        ],
        [
            "My invoice for {month} shows the wrong amount, ${amount} instead of the quoted price",
            "Why does my {month} invoice say ${amount}? That is not what I agreed to",
        ],
        [
            "My card was declined but I still see a pending charge of ${amount}",
            "Payment failed at checkout yet ${amount} was taken from my account",
        ],
    ],
    "shipping_delay": [
        [
            "My order #{order} still hasn't shipped after {days} days",
            "Order #{order} has been stuck in processing for {days} days",
        ],
        [
            "Tracking for order #{order} hasn't updated in {days} days",
            "The courier shows no movement on my {product} for {days} days",
        ],
        [
            "My {product} was supposed to arrive {days} days ago and is still not here",
            "Delivery of order #{order} is {days} days late, where is my {product}?",
        ],
    ],
    "login_problem": [
        [
            "I can't log in, the password reset email never arrives",
            "Reset password link never shows up in my inbox, I'm locked out",
        ],
        [
            "Two-factor code is not accepted when I try to sign in",
            "The 2FA code from my phone keeps getting rejected at login",
        ],
        [
            "My account got locked after {attempts} failed login attempts",
            "It says my account is locked after {attempts} tries and I can't get back in",
        ],
    ],
    "refund": [
        [
            "My refund for order #{order} still hasn't arrived after {days} days",
            "It has been {days} days and the refund of ${amount} for order #{order} is not in my account",
        ],
        [
            "I returned the {product} but only got a partial refund of ${amount}",
            "Refund for my returned {product} was short, I only received ${amount}",
        ],
        [
            "I want a refund for order #{order}, the {product} is not as described",
            "Please refund ${amount} for order #{order}, the {product} doesn't match the listing",
        ],
    ],
    "damaged_product": [
        [
            "My {product} arrived broken, the box was crushed",
            "The {product} from order #{order} came damaged in the package",
        ],
        [
            "The {product} stopped working after {days} days of use",
            "My new {product} is defective, it died after {days} days",
        ],
        [
            "I received the wrong item instead of my {product} for order #{order}",
            "Order #{order} contained the wrong {product}, not what I ordered",
        ],
    ],
    "account_change": [
        [
            "How do I change the email address on my account?",
            "I need to update the email on my account to a new address",
        ],
        [
            "Please update my shipping address before order #{order} ships",
            "Can you change the delivery address on order #{order}?",
        ],
        [
            "I'd like to upgrade my plan from {plan} to the next tier",
            "How can I switch my {plan} plan to a different billing cycle?",
        ],
    ],
    "feature_question": [
        [
            "Is there a way to export my order history to CSV?",
            "Can I download all my past orders as a spreadsheet?",
        ],
        [
            "Does the app support dark mode?",
            "Any plans to add dark mode to the mobile app?",
        ],
        [
            "Can I share my wishlist with family members?",
            "Is it possible to add a second user to my account?",
        ],
    ],
    "cancellation": [
        [
            "I want to cancel my {plan} subscription",
            "Please cancel my {plan} plan at the end of this month",
        ],
        [
            "Please cancel order #{order} before it ships",
            "I need to cancel order #{order}, I ordered the {product} by mistake",
        ],
        [
            "How do I close my account and delete my data?",
            "Please delete my account and all personal data",
        ],
    ],
}

# Planted topic: app crash after the 5.2 update.  Sub-topic 0-1 are minor,
# sub-topic 2 (data loss / can't work) is severe.
CRASH_TOPIC = "app_crash_after_update"
CRASH_TEMPLATES = [
    [
        "The app crashes every time I open {screen} since the 5.2 update",
        "Since updating to 5.2 the app closes as soon as I go to {screen}",
    ],
    [
        "After the latest update the app freezes on {screen} and then crashes",
        "Version 5.2 keeps crashing on {screen}, I have to restart it every time",
    ],
    [
        "The 5.2 update crashed the app and I lost all my saved {saved}",
        "Since 5.2 the app crashes on startup and my saved {saved} are gone",
    ],
]
CRASH_SCREENS = ["the checkout page", "my order history", "the cart", "the search screen", "my account page", "the home screen"]
CRASH_SAVED = ["payment methods", "addresses", "wishlists", "order drafts", "carts"]

MONTHS = ["June", "July", "August", "September", "October"]

NEG_SUFFIX = [
    " This is unacceptable.",
    " I am extremely frustrated.",
    " Fix this now or I'm leaving.",
    " Third time I'm writing about this!",
]
POS_PREFIX = ["Hi team, ", "Hello! ", "Quick question: ", "Thanks in advance, "]

# --------------------------------------------------------------------------
# Escalation model
# --------------------------------------------------------------------------
TOPIC_ESC = {
    "billing": 0.3,
    "shipping_delay": 0.0,
    "login_problem": -0.2,
    "refund": 0.6,
    "damaged_product": 0.7,
    "account_change": -1.0,
    "feature_question": -1.6,
    "cancellation": 0.4,
}
TOPIC_SENTIMENT = {
    "billing": -0.30,
    "shipping_delay": -0.35,
    "login_problem": -0.20,
    "refund": -0.40,
    "damaged_product": -0.50,
    "account_change": 0.05,
    "feature_question": 0.35,
    "cancellation": -0.25,
}
TOPIC_LENGTH = {
    "billing": 1.0,
    "shipping_delay": 0.9,
    "login_problem": 0.8,
    "refund": 1.1,
    "damaged_product": 1.3,
    "account_change": 0.7,
    "feature_question": 0.8,
    "cancellation": 0.9,
}
PLAN_ESC = {"free": -0.3, "pro": 0.3, "enterprise": 1.4}
CHANNEL_ESC = {"email": 0.0, "chat": 0.1, "phone": 0.4}

LOGIT_SCALE = 3.5
LOGIT_CENTER = 2.6
HIDDEN_NOISE = 0.40  # factors the model cannot see (true label only)
MODEL_NOISE = 0.30  # model's own estimation error

# Crash cluster: the truth is driven by severity (visible only in the text),
# which the model knows nothing about.
CRASH_P_SEVERE = 0.30
CRASH_ESC_P = {False: 0.06, True: 0.85}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------
# World: embedding geometry shared by both periods
# --------------------------------------------------------------------------
def make_world(rng):
    n_sub = 3
    all_topics = TOPICS + [CRASH_TOPIC]
    centroids = {}
    subs = {}
    for t in all_topics:
        c = rng.normal(0.0, 1.0, DIM)
        centroids[t] = c
        subs[t] = c[None, :] + rng.normal(0.0, 0.40, (n_sub, DIM))
    # push the crash centroid away from every reference topic: make it
    # orthogonal to the span of the reference centroids, rescaled.
    ref_mat = np.stack([centroids[t] for t in TOPICS])
    q, _ = np.linalg.qr(ref_mat.T)
    c = centroids[CRASH_TOPIC]
    c_orth = c - q @ (q.T @ c)
    c_orth *= np.linalg.norm(c) / np.linalg.norm(c_orth)
    subs[CRASH_TOPIC] = subs[CRASH_TOPIC] - centroids[CRASH_TOPIC] + c_orth
    centroids[CRASH_TOPIC] = c_orth
    return {"centroids": centroids, "subs": subs, "noise": 0.30}


def embed(rng, world, topic_names, sub_idx):
    n = len(topic_names)
    out = np.empty((n, DIM), dtype=np.float64)
    for t in sorted(set(topic_names.tolist())):
        m = topic_names == t
        out[m] = world["subs"][t][sub_idx[m]]
    out += rng.normal(0.0, world["noise"], (n, DIM))
    out /= np.linalg.norm(out, axis=1, keepdims=True)  # unit-length, cosine-ready
    return out.astype(np.float32)


# --------------------------------------------------------------------------
# Timestamps with a daily / weekly rhythm
# --------------------------------------------------------------------------
HOUR_W = np.array(
    [0.25, 0.20, 0.18, 0.18, 0.20, 0.28, 0.40, 0.60, 0.85, 1.00, 1.00, 1.00,
     0.95, 1.00, 1.00, 0.95, 0.90, 0.80, 0.70, 0.62, 0.55, 0.48, 0.40, 0.32]
)
WEEKDAY_W = np.array([1.00, 1.02, 1.00, 0.98, 0.92, 0.58, 0.52])  # Mon..Sun


def make_timestamps(rng, start, n):
    days = start + np.arange(N_DAYS) * np.timedelta64(1, "D")
    # numpy: 1970-01-01 was a Thursday -> weekday index Mon=0
    dow = ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(int)
    w = WEEKDAY_W[dow] * np.exp(rng.normal(0.0, 0.07, N_DAYS))
    raw = w / w.sum() * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    assert counts.min() >= 100, counts
    day_idx = np.repeat(np.arange(N_DAYS), counts)
    hours = rng.choice(24, size=n, p=HOUR_W / HOUR_W.sum())
    within = rng.integers(0, 3600 * 10**6, size=n)
    us = (
        start.astype(np.int64)
        + day_idx.astype(np.int64) * US_PER_DAY
        + hours.astype(np.int64) * 3600 * 10**6
        + within
    )
    return np.sort(us)


# --------------------------------------------------------------------------
# One period, drawn from the stationary generating process
# --------------------------------------------------------------------------
def fill(template, slots):
    return template.format(**slots)


def generate_period(rng, world, start, n, prefix, plant_value_shift=False):
    ts = make_timestamps(rng, start, n)

    plan = np.array(PLANS)[rng.choice(3, n, p=PLAN_P)]
    region = np.array(REGIONS)[rng.choice(4, n, p=REGION_P)]
    channel = np.empty(n, dtype=object)
    for p in PLANS:
        m = plan == p
        channel[m] = np.array(CHANNELS)[rng.choice(3, m.sum(), p=CHANNEL_P_BY_PLAN[p])]
    channel = channel.astype(str)
    product = np.array(PRODUCT_CATEGORIES)[rng.choice(6, n, p=PRODUCT_P)]
    topic = np.array(TOPICS)[rng.choice(len(TOPICS), n, p=TOPIC_P)]
    sub = rng.integers(0, 3, n)
    phrasing = rng.integers(0, 2, n)
    app_version = np.array(APP_VERSIONS)[rng.choice(2, n, p=APP_VERSION_P)]

    age = np.round(18.0 + 62.0 * rng.beta(2.0, 3.2, n)).astype(np.float64)
    age_missing = rng.random(n) < AGE_MISSING_BASE

    tenure_mean = np.select([plan == "free", plan == "pro"], [10.0, 22.0], 40.0)
    tenure = np.minimum(np.floor(rng.gamma(1.3, tenure_mean / 1.3)), 180).astype(np.int64)

    med = np.array([ORDER_MEDIAN[c] for c in product]) * np.array([PLAN_ORDER_MULT[p] for p in plan])
    order_value = np.maximum(np.round(med * np.exp(rng.normal(0.0, 0.30, n)), 2), 1.0)
    if plant_value_shift:
        # planted problem 1 (production only): a real covariate shift; it is
        # applied before labels/scores/texts so that all stay consistent.
        shifted = ts >= SHIFT_ONSET.astype(np.int64)
        order_value = np.where(shifted, np.round(order_value * ORDER_VALUE_FACTOR, 2), order_value)

    lam = 0.7 + 0.03 * np.minimum(tenure, 60) + np.where(topic == "login_problem", 0.4, 0.0)
    prior = rng.poisson(lam).astype(np.int64)

    rt_med = np.select([channel == "phone", channel == "chat"], [0.4, 1.5], 14.0)
    rt_med = rt_med * np.where(plan == "enterprise", 0.5, 1.0)
    rt = np.round(rng.gamma(1.6, rt_med / 1.3), 2)
    rt = np.maximum(rt, 0.01)

    s_mean = np.array([TOPIC_SENTIMENT[t] for t in topic])
    sentiment = np.tanh(1.2 * s_mean - 0.12 * np.log1p(rt) + rng.normal(0.0, 0.55, n))
    sentiment = np.round(sentiment, 3)

    len_f = np.array([TOPIC_LENGTH[t] for t in topic])
    length = np.maximum(np.round(70.0 * len_f * np.exp(rng.normal(0.0, 0.6, n))), 5).astype(np.int64)

    # ---- escalation: truth and model ------------------------------------
    z = (
        np.array([TOPIC_ESC[t] for t in topic])
        - 2.0 * sentiment
        + np.array([PLAN_ESC[p] for p in plan])
        + np.array([CHANNEL_ESC[c] for c in channel])
        + 0.35 * np.log(order_value / 80.0)
        + 0.35 * prior
        + 0.15 * np.log1p(rt)
    )
    z_true = LOGIT_SCALE * (z - LOGIT_CENTER + rng.normal(0.0, HIDDEN_NOISE, n))
    actual = rng.random(n) < sigmoid(z_true)
    z_model = LOGIT_SCALE * (z - LOGIT_CENTER + rng.normal(0.0, MODEL_NOISE, n))
    score = sigmoid(z_model)

    # ---- text -----------------------------------------------------------
    order_no = rng.integers(1000, 99999, n)
    days = rng.integers(3, 30, n)
    attempts = rng.integers(3, 9, n)
    month = rng.integers(0, len(MONTHS), n)
    noun_i = rng.integers(0, 6, n)
    deco = rng.integers(0, 4, n)
    texts = []
    for i in range(n):
        slots = {
            "amount": f"{order_value[i]:.2f}",
            "order": int(order_no[i]),
            "days": int(days[i]),
            "attempts": int(attempts[i]),
            "month": MONTHS[month[i]],
            "product": PRODUCT_NOUNS[product[i]][noun_i[i]],
            "plan": plan[i],
        }
        s = fill(TEMPLATES[topic[i]][sub[i]][phrasing[i]], slots)
        if sentiment[i] < -0.6:
            s = (s if s[-1] in ".?!" else s + ".") + NEG_SUFFIX[deco[i]]
        elif sentiment[i] > 0.5:
            keep = s.startswith("I ") or s.startswith("I'")
            s = POS_PREFIX[deco[i]] + (s if keep else s[0].lower() + s[1:])
        texts.append(s)

    vec = embed(rng, world, topic, sub)

    return {
        "prediction_id": np.array([f"{prefix}-{i + 1:06d}" for i in range(n)]),
        "prediction_ts": ts,
        "customer_age": age,
        "customer_age_missing": age_missing,
        "account_tenure_months": tenure,
        "order_value": order_value,
        "num_prior_tickets": prior,
        "response_time_hours": rt,
        "sentiment_score": sentiment,
        "ticket_length_words": length,
        "region": region,
        "channel": channel,
        "plan": plan,
        "product_category": product,
        "app_version": app_version,
        "ticket_text": np.array(texts, dtype=object),
        "text_vector": vec,
        "score": score,
        "actual": actual,
        "topic": topic,
    }


# --------------------------------------------------------------------------
# Planted production problems
# --------------------------------------------------------------------------
def plant_problems(rng, world, d):
    n = len(d["prediction_ts"])
    ts = d["prediction_ts"]

    # 1. order_value shift from 2026-10-15: applied in generate_period()

    # 2. new channel category
    sm = rng.choice(n, SOCIAL_MEDIA_ROWS, replace=False)
    d["channel"] = d["channel"].astype(object)
    d["channel"][sm] = "social_media"
    d["channel"] = d["channel"].astype(str)

    # 3. rising missing rate of customer_age from 2026-10-20
    late = ts >= MISSING_ONSET.astype(np.int64)
    d["customer_age_missing"] = np.where(late, rng.random(n) < AGE_MISSING_AFTER, d["customer_age_missing"])

    # 4. new topic: app crash after update (5.2), from 2026-10-08
    eligible = np.flatnonzero(ts >= CRASH_ONSET.astype(np.int64))
    crash = np.sort(rng.choice(eligible, CRASH_ROWS, replace=False))
    k = len(crash)
    severe = rng.random(k) < CRASH_P_SEVERE
    sub = np.where(severe, 2, rng.integers(0, 2, k))
    phrasing = rng.integers(0, 2, k)
    screen = rng.integers(0, len(CRASH_SCREENS), k)
    saved = rng.integers(0, len(CRASH_SAVED), k)
    d["topic"] = d["topic"].astype(object)
    d["topic"][crash] = CRASH_TOPIC
    d["app_version"] = d["app_version"].astype(object)
    d["app_version"][crash] = "5.2"
    d["app_version"] = d["app_version"].astype(str)
    for j, i in enumerate(crash):
        d["ticket_text"][i] = CRASH_TEMPLATES[sub[j]][phrasing[j]].format(
            screen=CRASH_SCREENS[screen[j]], saved=CRASH_SAVED[saved[j]]
        )
    d["text_vector"][crash] = embed(rng, world, np.full(k, CRASH_TOPIC), sub)
    # truth follows severity (only visible in the text); model score unchanged
    d["actual"][crash] = rng.random(k) < np.where(severe, CRASH_ESC_P[True], CRASH_ESC_P[False])
    return d


# --------------------------------------------------------------------------
# Arrow table
# --------------------------------------------------------------------------
def to_table(d):
    n = len(d["prediction_ts"])
    score = d["score"]
    pred = np.where(score >= 0.5, "escalate", "no_escalate")
    actual = np.where(d["actual"], "escalate", "no_escalate")
    vec = pa.FixedSizeListArray.from_arrays(pa.array(d["text_vector"].reshape(-1), type=pa.float32()), DIM)
    cols = {
        "prediction_id": pa.array(d["prediction_id"].tolist(), pa.string()),
        "prediction_ts": pa.array(d["prediction_ts"], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "customer_age": pa.array(d["customer_age"], pa.float64(), mask=d["customer_age_missing"]),
        "account_tenure_months": pa.array(d["account_tenure_months"], pa.int64()),
        "order_value": pa.array(d["order_value"], pa.float64()),
        "num_prior_tickets": pa.array(d["num_prior_tickets"], pa.int64()),
        "response_time_hours": pa.array(d["response_time_hours"], pa.float64()),
        "sentiment_score": pa.array(d["sentiment_score"], pa.float64()),
        "ticket_length_words": pa.array(d["ticket_length_words"], pa.int64()),
        "region": pa.array(d["region"].tolist(), pa.string()),
        "channel": pa.array(d["channel"].tolist(), pa.string()),
        "plan": pa.array(d["plan"].tolist(), pa.string()),
        "product_category": pa.array(d["product_category"].tolist(), pa.string()),
        "app_version": pa.array(d["app_version"].tolist(), pa.string()),
        "ticket_text": pa.array(list(d["ticket_text"]), pa.string()),
        "text_vector": vec,
        "prediction_label": pa.array(pred.tolist(), pa.string()),
        "prediction_score": pa.array(score, pa.float64()),
        "actual_label": pa.array(actual.tolist(), pa.string()),
    }
    t = pa.table(cols)
    assert t.num_rows == n
    return t


def write(table, path):
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=9,
        row_group_size=table.num_rows,
        use_dictionary=True,
        write_statistics=True,
        version="2.6",
    )


# --------------------------------------------------------------------------
# Self-check: PSI + accuracy
# --------------------------------------------------------------------------
NUMERIC = [
    "customer_age",
    "account_tenure_months",
    "order_value",
    "num_prior_tickets",
    "response_time_hours",
    "sentiment_score",
    "ticket_length_words",
    "prediction_score",
]
CATEGORICAL = ["region", "channel", "plan", "product_category", "app_version", "prediction_label", "actual_label"]
DRIFTED = {"order_value", "channel", "customer_age", "app_version"}


def _smooth(counts):
    c = np.asarray(counts, dtype=float) + 0.5
    return c / c.sum()


def psi_numeric(ref, prod):
    """ref/prod: float arrays with NaN for missing."""
    r = ref[~np.isnan(ref)]
    edges = np.unique(np.quantile(r, np.linspace(0.1, 0.9, 9)))

    def counts(x):
        ok = ~np.isnan(x)
        idx = np.searchsorted(edges, x[ok], side="right")  # bins (-inf,e1) [e1,e2) ... [ek,inf)
        return np.append(np.bincount(idx, minlength=len(edges) + 1), (~ok).sum())

    p, q = _smooth(counts(ref)), _smooth(counts(prod))
    return float(np.sum((p - q) * np.log(p / q)))


def psi_categorical(ref, prod):
    """ref/prod: object arrays with None for missing."""
    cats = sorted({v for v in ref if v is not None})

    def counts(x):
        c = [sum(1 for v in x if v == k) for k in cats]
        c.append(sum(1 for v in x if v is not None and v not in cats))
        c.append(sum(1 for v in x if v is None))
        return c

    p, q = _smooth(counts(ref)), _smooth(counts(prod))
    return float(np.sum((p - q) * np.log(p / q)))


def psi_table(ref_t, prod_t):
    out = {}
    for c in NUMERIC:
        a = ref_t.column(c).cast(pa.float64()).to_numpy(zero_copy_only=False)
        b = prod_t.column(c).cast(pa.float64()).to_numpy(zero_copy_only=False)
        out[c] = psi_numeric(a, b)
    for c in CATEGORICAL:
        out[c] = psi_categorical(
            np.array(ref_t.column(c).to_pylist(), dtype=object),
            np.array(prod_t.column(c).to_pylist(), dtype=object),
        )
    return out


def accuracy(t, mask=None):
    p = np.array(t.column("prediction_label").to_pylist())
    a = np.array(t.column("actual_label").to_pylist())
    if mask is not None:
        p, a = p[mask], a[mask]
    return float((p == a).mean())


def self_check(ref_t, prod_t):
    psi = psi_table(ref_t, prod_t)
    print(f"{'column':<24}{'PSI':>8}")
    for c, v in psi.items():
        flag = "drift" if c in DRIFTED else ""
        print(f"{c:<24}{v:8.4f}  {flag}")

    crash = np.array(prod_t.column("app_version").to_pylist()) == "5.2"
    acc_ref = accuracy(ref_t)
    acc_crash = accuracy(prod_t, crash)
    acc_other = accuracy(prod_t, ~crash)
    print(f"accuracy reference                {acc_ref:.4f}")
    print(f"accuracy production non-crash     {acc_other:.4f}")
    print(f"accuracy production crash (5.2)   {acc_crash:.4f}  (n={crash.sum()})")
    print(f"accuracy production overall       {accuracy(prod_t):.4f}")

    for name, t in (("reference", ref_t), ("production", prod_t)):
        pl = np.array(t.column("prediction_label").to_pylist())
        al = np.array(t.column("actual_label").to_pylist())
        print(
            f"{name:<11} rows={t.num_rows} pred_escalate={np.mean(pl == 'escalate'):.4f} "
            f"actual_escalate={np.mean(al == 'escalate'):.4f} "
            f"customer_age_null={t.column('customer_age').null_count / t.num_rows:.4f}"
        )
    pl = np.array(prod_t.column("prediction_label").to_pylist())[crash]
    al = np.array(prod_t.column("actual_label").to_pylist())[crash]
    print(f"crash rows pred_escalate={np.mean(pl == 'escalate'):.4f} actual_escalate={np.mean(al == 'escalate'):.4f}")
    for c, v in psi.items():
        if c in DRIFTED:
            assert v >= 0.25, (c, v)
        else:
            assert v < 0.1, (c, v)
    assert acc_crash <= 0.65, acc_crash
    assert acc_ref >= 0.82 and acc_other >= 0.82, (acc_ref, acc_other)
    return psi


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=HERE, help="where to write the parquet files (default: next to this script)")
    args = ap.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)

    ss = np.random.SeedSequence(SEED)
    s_world, s_ref, s_prod, s_plant = ss.spawn(4)
    world = make_world(np.random.default_rng(s_world))
    ref = generate_period(np.random.default_rng(s_ref), world, REF_START, N_REF, "ref")
    prod = generate_period(np.random.default_rng(s_prod), world, PROD_START, N_PROD, "prod", plant_value_shift=True)
    prod = plant_problems(np.random.default_rng(s_plant), world, prod)
    ref_t, prod_t = to_table(ref), to_table(prod)
    self_check(ref_t, prod_t)
    for name, t in (("reference.parquet", ref_t), ("production.parquet", prod_t)):
        path = os.path.join(args.out_dir, name)
        write(t, path)
        print(f"wrote {path}: {os.path.getsize(path):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
