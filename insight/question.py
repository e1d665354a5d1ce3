"""Plain-words questions: a deterministic parser from a question to a registry query.

`parse(question, today=…, zone=…)` returns one of:

- `Query`: a metric of the registry, up to two dimensions, filters (values from the
  vocabularies below), a `Period` and whether to compare with the previous equal period;
- `Clarify`: the question was vague ("how are we doing?") or matched two metrics equally;
  `choices` are questions the parser does answer;
- `Unknown`: nothing matched; `suggestions` are the three closest questions it can answer.

Nothing from the question ever reaches SQL: it only picks names out of fixed tables (metric
synonyms, dimension words, filter values), and `insight.registry.evaluate` binds the values.
The branch and role are never read from the question: callers pass the store ids.

Matching: (1) exact synonym phrases on word boundaries, the longest phrase wins ("went cold"
beats "leads"); a tie between two metrics asks which; (2) only when nothing matched exactly,
`rapidfuzz` `fuzz.ratio` ≥ 85 between a synonym and a 1–3-word piece of the question, for
typos ("convertion rate"). Periods come from `insight.period.PeriodGrammar`; with none said,
the last 30 days (and the answer says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz, process

from insight.period import Period, PeriodGrammar
from insight.registry import METRICS, Metric

FUZZY_CUTOFF = 85.0
MAX_QUESTION = 500  # characters read; the rest is ignored (the API refuses longer)


@dataclass(frozen=True)
class Query:
    metric: str
    period: Period
    dimensions: tuple[str, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)
    compare: bool = False
    period_said: bool = True  # False: no period in the question, the default was used
    typo: str | None = None  # the synonym a fuzzy match stood for, if any
    ignored: tuple[str, ...] = ()  # splits asked for that the metric does not have


@dataclass(frozen=True)
class Clarify:
    message: str
    choices: list[str]


@dataclass(frozen=True)
class Unknown:
    message: str
    suggestions: list[str]


Parsed = Query | Clarify | Unknown

# Questions the parser answers, offered when it cannot: each parses to a Query (a test checks).
EXAMPLES = [
    "How many leads came in this week?",
    "How many leads came from Instagram last week?",
    "Leads by source this month",
    "What was our conversion this week?",
    "Conversion by source last month",
    "What's our speed to lead this month?",
    "How fast did staff contact new leads last week?",
    "Revenue by sequence this quarter",
    "Revenue last month compared with the month before",
    "How many appointments were booked yesterday?",
    "What was the show rate last month?",
    "Which associate has the most open tasks right now?",
    "How many SLA breaches are open now?",
    "How many bridal leads are going cold now?",
    "Opt-outs by source in the last 60 days",
    "Delivery rate by channel this month",
    "Messages held back by reason last week",
    "Open pipeline by segment",
    "Reply rate by step this month",
]

# Vague words: ask which number, offering the KPI strip's questions.
VAGUE = (
    "how are we doing", "how is business", "how's business", "hows business", "overview",
    "summary", "kpis", "kpi", "performance", "dashboard", "stats", "statistics", "numbers",
    "how did we do", "how are things", "report",
)  # fmt: skip
VAGUE_CHOICES = [
    "How many leads came in this week?",
    "What was our conversion this week?",
    "What's our speed to lead this month?",
    "Revenue by sequence this quarter",
    "How many bridal leads are going cold now?",
]
# Words that name several metrics at once: ask which.
AMBIGUOUS: dict[str, list[str]] = {
    "response": ["speed_to_lead_automated", "speed_to_lead_human", "reply_rate"],
    "rate": ["conversion", "delivery_rate", "reply_rate", "show_rate"],
    "speed": ["speed_to_lead_automated", "speed_to_lead_human"],
    "messaging": ["messages_sent", "delivery_rate", "failure_rate", "suppressed_messages"],
    "tasks performance": ["task_sla_met", "open_tasks", "sla_breaches_open"],
}
QUESTION_FOR = {
    "speed_to_lead_automated": "What's our speed to lead this month?",
    "speed_to_lead_human": "How fast did staff contact new leads last week?",
    "reply_rate": "Reply rate by step this month",
    "conversion": "What was our conversion this week?",
    "delivery_rate": "Delivery rate by channel this month",
    "show_rate": "What was the show rate last month?",
    "messages_sent": "How many messages were sent last week?",
    "failure_rate": "What was the failure rate last month?",
    "suppressed_messages": "Messages held back by reason last week",
    "task_sla_met": "What share of tasks met their SLA this month?",
    "open_tasks": "Which associate has the most open tasks right now?",
    "sla_breaches_open": "How many SLA breaches are open now?",
}

# "by source", "per step", "which associate", "for each segment" …
DIMENSION_WORDS: dict[str, tuple[str, ...]] = {
    "source": ("source", "sources", "where they came from", "lead source"),
    "segment": ("segment", "segments"),
    "stage": ("stage", "stages"),
    "associate": ("associate", "associates", "staff", "salesperson", "person", "owner"),
    "sequence": ("sequence", "sequences", "journey", "journeys", "campaign", "campaigns"),
    "step": ("step", "steps"),
    "channel": ("channel", "channels"),
    "status": ("status", "statuses"),
    "reason": ("reason", "reasons", "why"),
    "kind": ("task kind", "kind of task", "task type"),
    "outcome": ("outcome", "outcomes"),
    "budget": ("budget", "budget band", "budgets"),
}
_SPLITTERS = r"(?:by|per|for each|each|across|split by|broken down by|which|what)"

# Filter values: the words people use for the stored vocabulary values.
FILTER_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "source": {
        "instagram": ("instagram", "insta", "ig"),
        "web_form": ("web form", "website", "web", "online form", "enquiry form"),
        "walk_in": ("walk in", "walk-in", "walk ins", "walkins", "walk-ins"),
        "whatsapp": ("whatsapp",),
        "qr": ("qr", "qr code"),
        "referral": ("referral", "referrals", "referred"),
        "phone": ("phone", "phone call", "calls"),
        "pos": ("pos", "till"),
    },
    "segment": {
        "bridal": ("bridal", "wedding"),
        "engagement": ("engagement", "engagement ring", "proposal"),
        "gifting": ("gifting", "gift", "gifts"),
        "anniversary": ("anniversary",),
        "custom_design": ("custom design", "custom", "bespoke"),
        "daily_wear": ("daily wear", "everyday"),
        "gold_scheme": ("gold scheme",),
        "repair": ("repair", "repairs"),
    },
    "channel": {
        "email": ("email", "emails", "e-mail"),
        "sms": ("sms", "text", "texts", "text message", "text messages"),
        "whatsapp": ("whatsapp",),
    },
}
COMPARE_WORDS = (
    "compared", "compare", "comparison", "versus", "vs", "against", "change",
    "changed", "previous period", "the month before", "the week before", "before that",
    "trend", "growth",
)  # fmt: skip


def normalise(question: str) -> str:
    """Lower case, letters, digits and the few signs dates use; one space between words."""
    text = question[:MAX_QUESTION].lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9/.\-' ]+", " ", text)
    text = re.sub(r"(?<![0-9])[.](?![0-9])", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _phrase(words: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(words) + r"(?![a-z0-9])")


# (synonym, metric) for every synonym and every metric's label and name
_SYNONYMS: list[tuple[str, str]] = sorted(
    {
        (normalise(word), metric.name)
        for metric in METRICS.values()
        for word in (*metric.synonyms, metric.label, metric.name.replace("_", " "))
    },
    key=lambda pair: (-len(pair[0].split()), -len(pair[0]), pair),
)
_PATTERNS = {word: _phrase(word) for word, _ in _SYNONYMS}


def parse(
    question: str,
    *,
    today: date,
    zone: str,
    order: str = "DMY",
    week_start: int = 0,
) -> Parsed:
    """Map a question to a registry query, a clarifying question, or "can't answer yet"."""
    text = normalise(question)
    grammar = PeriodGrammar(today, zone, order, week_start)
    found = grammar.find(text)
    period = found.period if found else grammar.default()
    rest = text[: found.span[0]] + " " + text[found.span[1] :] if found else text
    if not rest.strip():
        return _unknown(question)

    metric_name, typo = _match_metric(rest)
    if isinstance(metric_name, Clarify):
        return metric_name
    if metric_name is None:
        vague = _vague(rest)
        if vague:
            return Clarify("Which number would you like? For example:", VAGUE_CHOICES)
        return _unknown(question)
    metric = METRICS[metric_name]
    dimensions, ignored = _dimensions(rest, metric)
    return Query(
        metric=metric.name,
        period=period,
        dimensions=dimensions,
        filters=_filters(rest, metric, dimensions),
        compare=any(_phrase(word).search(rest) for word in COMPARE_WORDS),
        period_said=found is not None,
        typo=typo,
        ignored=ignored,
    )


def _match_metric(text: str) -> tuple[str | Clarify | None, str | None]:
    exact = [(word, name) for word, name in _SYNONYMS if _PATTERNS[word].search(text)]
    if exact:
        longest = (len(exact[0][0].split()), len(exact[0][0]))
        best = {name for word, name in exact if (len(word.split()), len(word)) == longest}
        ambiguous = _ambiguous(text, longest)
        if ambiguous:
            return ambiguous, None
        if len(best) > 1:
            return _which(sorted(best)), None
        return best.pop(), None
    name, typo = _fuzzy(text)
    if name is not None:
        return name, typo
    return _ambiguous(text, (0, 0)), None


def _ambiguous(text: str, longest: tuple[int, int]) -> Clarify | None:
    """A word naming several metrics, when no longer, more specific phrase matched."""
    for word, names in AMBIGUOUS.items():
        if (len(word.split()), len(word)) > longest and _phrase(word).search(text):
            return _which(names)
    return None


def _which(names: list[str]) -> Clarify:
    choices = [QUESTION_FOR.get(name, f"{METRICS[name].label} this month") for name in names]
    labels = " or ".join(METRICS[name].label.lower() for name in names)
    return Clarify(f"Did you mean {labels}?", choices)


def _fuzzy(text: str) -> tuple[str | None, str | None]:
    """A synonym misspelt: word by word, each word equal or (5+ letters) ≥ 85 % alike."""
    words = text.split()
    pieces = {tuple(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)}
    scored: dict[str, tuple[float, str]] = {}
    for word, name in _SYNONYMS:
        target = tuple(word.split())
        if len(target) == 1 and len(word) < 6:
            continue  # short words match too much by accident ("lead" ~ "leads")
        for piece in pieces:
            if len(piece) != len(target) or not _alike(piece, target):
                continue
            score = fuzz.ratio(" ".join(piece), word)
            if score >= FUZZY_CUTOFF and score > scored.get(name, (0.0, ""))[0]:
                scored[name] = (score, word)
    if not scored:
        return None, None
    top = max(score for score, _ in scored.values())
    best = sorted(name for name, (score, _) in scored.items() if score == top)
    if len(best) > 1:
        return None, None
    return best[0], scored[best[0]][1]


def _alike(piece: tuple[str, ...], target: tuple[str, ...]) -> bool:
    return all(
        said == meant or (len(meant) >= 5 and fuzz.ratio(said, meant) >= FUZZY_CUTOFF)
        for said, meant in zip(piece, target, strict=True)
    )


def _vague(text: str) -> bool:
    return any(_phrase(word).search(text) for word in VAGUE)


def _unknown(question: str) -> Unknown:
    closest = process.extract(
        normalise(question), [normalise(e) for e in EXAMPLES], scorer=fuzz.token_set_ratio, limit=3
    )
    return Unknown(
        "I can't answer that yet. Try one of these:",
        [EXAMPLES[index] for _, _, index in closest],
    )


def _dimensions(text: str, metric: Metric) -> tuple[tuple[str, ...], tuple[str, ...]]:
    chosen: list[tuple[int, str]] = []
    ignored: list[str] = []
    for name, words in DIMENSION_WORDS.items():
        for word in sorted(words, key=len, reverse=True):
            match = re.search(
                rf"(?<![a-z0-9]){_SPLITTERS}\s+(?:the\s+)?(?:[a-z]+\s+and\s+)?"
                rf"{re.escape(word)}(?![a-z0-9])",
                text,
            )
            if match:
                if name in metric.dimensions:
                    chosen.append((match.end(), name))
                else:
                    ignored.append(name)
                break
    names = [name for _, name in sorted(chosen)]
    return tuple(dict.fromkeys(names))[:2], tuple(ignored)


def _filters(text: str, metric: Metric, dimensions: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for column, values in FILTER_WORDS.items():
        if column not in metric.filters or column in dimensions:
            continue
        for value, words in values.items():
            if any(_phrase(word).search(text) for word in words):
                found.setdefault(column, value)
    return found
