"""Holds the exporter's catalogues against the enums of the official Genesys Cloud Python SDK.

tests/catalog_sdk.rs runs it with the SDK's venv (target/venv-sdk, which scripts/test
installs from scripts/requirements-sdk.txt) and writes the catalogues to its standard input
as JSON: {"conversations.metrics": ["nOffered", ...], ...}, one list per request field the
exporter checks names of. Every name in one list and not in the other is a failure unless
the allow-list (TOML, one [[difference]] per name) gives a reason for it; an allow-list
entry that no longer matches a difference is a failure too, so the list stays true.

The aggregates sources' catalogues are found by their name alone, so a source added to
the exporter's table is compared without editing this script: for a source `<segment>`
(`flowexecutions`), `<segment>.metrics` is `<S>AggregationView.target` and
`<segment>.groupBy` / `<segment>.filter.dimension` are `<S>AggregateQueryPredicate.dimension`,
where `<S>` is the SDK's model prefix spelt as the segment in the singular
(`FlowExecution`). `<segment>.qualifier.<metric>` is the enum QUALIFIERS names for the
metric's qualifier. A catalogue this script cannot map to an SDK enum is a broken input.

Usage: catalog_sdk.py ALLOWLIST_TOML < catalogues.json
Exit status: 0 when every difference is allowed, 1 when one is not, 2 on a broken input.
"""

import inspect
import json
import re
import sys
import tomllib

from PureCloudPlatformClientV2 import models

# Where the SDK spells each fixed catalogue out. The Python SDK checks allowed values on
# scalar fields only: the list fields of the request models (QueueObservationQuery.metrics
# and .detailMetrics, the aggregation queries' metrics and groupBy) carry no enum, so each
# of those is read from the scalar field that names the same thing. Where a field has more
# than one source, the enum is their union.
SOURCES = {
    # POST /api/v2/analytics/queues/observations/query: its metrics are those of the two
    # activity queries that replace it, conversations (waiting, alerting, interacting:
    # the ones whose observations list conversations) and users.
    "observations.metrics": [
        ("ConversationActivityQueryMetric", "metric"),
        ("RoutingActivityQueryMetric", "metric"),
    ],
    "observations.detailMetrics": [("ConversationActivityQueryMetric", "metric")],
    "observations.filter.dimension": [("QueueObservationQueryPredicate", "dimension")],
    # The media type of a queued conversation's observation.
    "observations.filter.mediaType": [("ConversationActivityEntityData", "media_type")],
    # --- Agents now: POST /api/v2/analytics/agents/status/counts (src/genesys/agents.rs).
    # Its `groupBy` query parameter carries no enum in the Python SDK (the other SDKs'
    # docs list segmentType, presence, routingStatus, isOutOfOffice), so it is not here.
    "agents.userFilter.dimension": [("AgentStateAgentQueryPredicate", "dimension")],
    "agents.sessionFilter.dimension": [("AgentStateSessionQueryPredicate", "dimension")],
    "agents.routingStatus": [("AgentStateRoutingStatusCount", "routing_status")],
    "agents.systemPresence": [("AgentStatePresenceCount", "system_presence")],
    "agents.adherenceState": [("AgentStateAdherenceStateCount", "adherence_state")],
    "agents.activityCategory": [("AgentStateActivityCategoryCount", "activity_category")],
    "agents.segmentType": [("AgentStateSegmentTypeCount", "segment_type")],
    # --- end of agents now.
}

# POST /api/v2/analytics/{segment}/aggregates/query, for every source of the exporter's
# table: the model field of each kind of catalogue, after the model prefix.
AGGREGATES = {
    "metrics": ("AggregationView", "target"),
    # The Java SDK's ConversationAggregationQuery.GroupByEnum is the predicates' list.
    "groupBy": ("AggregateQueryPredicate", "dimension"),
    "filter.dimension": ("AggregateQueryPredicate", "dimension"),
}

# The values of the qualifiers the exporter names (routing_status, system_presence): the
# records in which the SDK spells a user's status out.
QUALIFIERS = {
    "tAgentRoutingStatus": [("AnalyticsRoutingStatusRecord", "routing_status")],
    "tSystemPresence": [("AnalyticsUserPresenceRecord", "system_presence")],
}

DIRECTIONS = ("only in ours", "only in SDK")


class BrokenInput(Exception):
    """An allow-list, catalogue or SDK model this script cannot read."""


def enum_of(model, attribute):
    """The allowed values the SDK's setter of `model.attribute` checks."""
    klass = getattr(models, model, None)
    setter = getattr(getattr(klass, attribute, None), "fset", None)
    if setter is None:
        raise BrokenInput(f"the SDK has no {model}.{attribute}")
    match = re.search(r"allowed_values = (\[.*?\])", inspect.getsource(setter))
    if match is None:
        raise BrokenInput(f"the SDK's {model}.{attribute} checks no allowed values")
    return set(json.loads(match.group(1)))


def model_prefix(segment):
    """The SDK's model prefix of an aggregates source: `ratelimits` -> `RateLimit`."""
    wanted = f"{segment.removesuffix('s')}aggregationview"
    for name in dir(models):
        if name.lower() == wanted:
            return name.removesuffix("AggregationView")
    raise BrokenInput(f"the SDK has no aggregation view for the source {segment!r}")


def sdk_fields(catalogue):
    """[(model, attribute)] whose enums together are `catalogue`'s SDK side."""
    if catalogue in SOURCES:
        return SOURCES[catalogue]
    segment, _, kind = catalogue.partition(".")
    if kind.startswith("qualifier."):
        metric = kind.removeprefix("qualifier.")
        if metric not in QUALIFIERS:
            raise BrokenInput(f"{catalogue}: no SDK enum known for {metric}'s qualifier (QUALIFIERS)")
        return QUALIFIERS[metric]
    if kind not in AGGREGATES:
        raise BrokenInput(f"{catalogue}: not a catalogue ({', '.join(SOURCES)}, or "
                          f"<segment>.{{{', '.join(AGGREGATES)}, qualifier.<metric>}})")
    suffix, attribute = AGGREGATES[kind]
    return [(model_prefix(segment) + suffix, attribute)]


def sdk_enum(catalogue):
    return set().union(*(enum_of(model, attribute) for model, attribute in sdk_fields(catalogue)))


def read_allowlist(path):
    """{(catalogue, name, direction): reason}, refusing malformed or repeated entries."""
    with open(path, "rb") as file:
        try:
            entries = tomllib.load(file).get("difference", [])
        except tomllib.TOMLDecodeError as error:
            raise BrokenInput(f"{path}: {error}") from error
    allowed = {}
    for i, entry in enumerate(entries):
        where = f"{path}: difference {i + 1}"
        missing = [k for k in ("catalogue", "name", "direction", "reason") if not entry.get(k)]
        if missing:
            raise BrokenInput(f"{where} lacks {', '.join(missing)}")
        try:
            sdk_fields(entry["catalogue"])
        except BrokenInput as error:
            raise BrokenInput(f"{where}: {error}") from error
        if entry["direction"] not in DIRECTIONS:
            raise BrokenInput(f"{where}: direction is {' or '.join(map(repr, DIRECTIONS))}")
        key = (entry["catalogue"], entry["name"], entry["direction"])
        if key in allowed:
            raise BrokenInput(f"{where} repeats {key}")
        allowed[key] = entry["reason"]
    return allowed


def differences(ours):
    """Every (catalogue, name, direction) on which ours and the SDK disagree."""
    missing = sorted(set(SOURCES) - set(ours))
    segments = {name.partition(".")[0] for name in ours} - {name.partition(".")[0] for name in SOURCES}
    missing += sorted(f"{segment}.{kind}" for segment in segments for kind in AGGREGATES
                      if f"{segment}.{kind}" not in ours)
    if missing:
        raise BrokenInput(f"catalogues missing: {', '.join(missing)}")
    found = set()
    for catalogue, names in ours.items():
        sdk = sdk_enum(catalogue)
        found |= {(catalogue, name, "only in ours") for name in set(names) - sdk}
        found |= {(catalogue, name, "only in SDK") for name in sdk - set(names)}
    return found


def main(allowlist_path):
    try:
        ours = json.load(sys.stdin)
        allowed = read_allowlist(allowlist_path)
        found = differences(ours)
    except (BrokenInput, OSError, json.JSONDecodeError) as error:
        print(f"catalog_sdk.py: {error}", file=sys.stderr)
        return 2
    unexplained = sorted(found - set(allowed))
    stale = sorted(set(allowed) - found)
    for catalogue, name, direction in sorted(found & set(allowed)):
        print(f"allowed   {catalogue}: {name} {direction}: {allowed[(catalogue, name, direction)]}")
    for catalogue, name, direction in unexplained:
        print(f"DIFFERENT {catalogue}: {name} {direction}, and not in {allowlist_path}")
    for catalogue, name, direction in stale:
        print(f"STALE     {allowlist_path}: {catalogue}: {name} is no longer {direction}")
    sizes = ", ".join(f"{catalogue} {len(names)}" for catalogue, names in sorted(ours.items()))
    print(f"{len(ours)} catalogues ({sizes}): {len(found)} differences, "
          f"{len(unexplained)} unexplained, {len(stale)} stale allow-list entries")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
