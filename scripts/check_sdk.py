"""Drives the simulator through the official Genesys Cloud Python SDK (run by scripts/check-sdk).

Every response is parsed into the SDK's models and serialized back; anything the models
drop (an unknown field), an enum value they do not know, or a call that fails is an error.
Every metric and dimension of the exporter's catalogue is queried once, and every other source's
metrics once, with the listings of flows, flow outcomes and presence definitions; whether the
catalogue matches the SDK's enums is tests/catalog_sdk.rs's question (scripts/catalog_sdk.py).

Usage: check_sdk.py BASE_URL CATALOG_RS
       check_sdk.py --details BASE_URL CLIENT_ID CLIENT_SECRET   (the details query only)
"""

import inspect
import json
import os
import re
import sys
import urllib.request
from datetime import datetime

import PureCloudPlatformClientV2 as genesys
from dateutil.parser import isoparse
from PureCloudPlatformClientV2 import models
from PureCloudPlatformClientV2.rest import ApiException

CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-secret"
DAY = "2026-11-24T00:00:00.000Z/2026-11-25T00:00:00.000Z"
HOUR = "2026-11-24T10:00:00.000Z/2026-11-24T11:00:00.000Z"

failures = []


def fail(message):
    failures.append(message)
    print(f"FAIL {message}", file=sys.stderr)


def catalogue(path, name):
    """A `pub const NAME: &[&str] = &[...]` list of src/genesys/catalog.rs."""
    text = open(path, encoding="utf-8").read()
    body = re.search(rf"pub const {name}: &\[&str\] = &\[(.*?)\];", text, re.S).group(1)
    return set(re.findall(r'"([^"]+)"', body))


def without_nulls(value):
    """The value without null fields, and its dates as one instant however written (the
    SDK writes back `2026-11-24T10:20:00+00:00` for `2026-11-24T10:20:00.000Z`)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}T[^/]*$", value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return value
    return value


def outdated(value, where=""):
    """Paths of values the SDK replaced by "outdated_sdk_version" (an enum it lacks)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in outdated(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in outdated(v, f"{where}[{i}]")]
    return [where] if value == "outdated_sdk_version" else []


def times(value):
    """`value` with every ISO-8601 date-time in one spelling (the SDK writes back its own)."""
    if isinstance(value, dict):
        return {k: times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [times(v) for v in value]
    if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", value):
        return isoparse(value).isoformat()
    return value


def round_trip(api, raw, klass, what):
    """Parses raw JSON into `klass` and checks that serializing it back loses nothing."""
    parsed = api._ApiClient__deserialize(raw, klass)
    again = without_nulls(api.sanitize_for_serialization(parsed))
    if times(again) != times(without_nulls(raw)):
        fail(f"{what}: the {klass} model does not hold the whole response")
    for path in outdated(again):
        fail(f"{what}: {path} is a value the SDK does not know")
    return parsed


def post_raw(base, token, path, body):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def get_raw(base, token, path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def read_every_page(what, call, page_size):
    """Reads a numbered listing through the SDK, following nextUri; how many it read."""
    page_number, seen = 1, 0
    while True:
        listing = call(page_size=page_size, page_number=page_number)
        seen += len(listing.entities or [])
        if not listing.next_uri:
            break
        page_number += 1
    if seen == 0 or seen != listing.total:
        fail(f"{what} pages: {seen} read, {listing.total} listed")
    return seen


# The other aggregates sources: segment, the SDK's response model, a grouping with data.
SOURCES = [
    ("users", "UserAggregateQueryResponse", ["userId"]),
    ("flows", "FlowAggregateQueryResponse", ["flowId", "flowOutcomeId"]),
    ("bots", "BotAggregateQueryResponse", ["botName"]),
    ("actions", "ActionAggregateQueryResponse", ["actionName", "errorType"]),
    ("surveys", "SurveyAggregateQueryResponse", ["queueId"]),
    ("evaluations", "EvaluationAggregateQueryResponse", ["queueId"]),
    ("transcripts", "TranscriptAggregateQueryResponse", ["queueId"]),
    ("flowexecutions", "FlowExecutionAggregateQueryResponse", ["flowId"]),
    ("ratelimits", "RateLimitAggregateQueryResponse", ["limitName", "namespace"]),
]


def check_sources(api, base, token, sources_rs):
    """Every other source's whole catalogue over a day, and the listings naming its ids."""
    for segment, klass, group_by in SOURCES:
        metrics = sorted(catalogue(sources_rs, f"{segment.upper()}_METRICS"))
        query = {"interval": DAY, "granularity": "PT1H", "groupBy": group_by, "metrics": metrics}
        status, raw = post_raw(base, token, f"/api/v2/analytics/{segment}/aggregates/query", query)
        if status != 200 or not raw.get("results"):
            fail(f"{segment}: HTTP {status}, results: {bool(raw.get('results'))}")
        round_trip(api, raw, klass, f"{segment} aggregates")
    architect = genesys.ArchitectApi(api)
    for what, call in [("flows", architect.get_flows), ("flow outcomes", architect.get_flows_outcomes)]:
        read_every_page(what, call, 2)
    round_trip(api, get_raw(base, token, "/api/v2/flows?pageSize=100"), "FlowEntityListing", "flows")
    round_trip(api, get_raw(base, token, "/api/v2/flows/outcomes?pageSize=100"),
               "FlowOutcomeListing", "flow outcomes")
    presences = get_raw(base, token, "/api/v2/presence/definitions")
    round_trip(api, presences, "OrganizationPresenceDefinitionEntityListing", "presence definitions")
    listed = genesys.PresenceApi(api).get_presence_definitions()
    if not listed.entities or len(listed.entities) != listed.total:
        fail("presence definitions: the SDK's call read none, or not all")
    return len(SOURCES)


DETAILS_PATH = "/api/v2/analytics/conversations/details/query"
QUARTER = "2026-11-24T10:00:00.000Z/2026-11-24T10:15:00.000Z"


def check_details(api, base, token):
    """The details query through the SDK's ConversationQuery, its answers (a page, an empty
    page) held against AnalyticsConversationQueryResponse, its refusals against ErrorBody."""
    query = models.ConversationQuery()
    query.interval = QUARTER
    query.order = "asc"
    query.order_by = "conversationStart"
    query.paging = models.PagingSpec()
    query.paging.page_size = 100
    query.paging.page_number = 1
    predicate = models.SegmentDetailQueryPredicate()
    predicate.type = "dimension"
    predicate.dimension = "mediaType"
    predicate.operator = "matches"
    predicate.value = "voice"
    segment_filter = models.SegmentDetailQueryFilter()
    segment_filter.type = "and"
    segment_filter.predicates = [predicate]
    query.segment_filters = [segment_filter]
    try:
        answer = genesys.AnalyticsApi(api).post_analytics_conversations_details_query(query)
        if not answer.conversations or not answer.total_hits:
            fail("details: no conversations in a busy quarter hour")
        elif not any(c.media_stats_min_conversation_mos for c in answer.conversations):
            fail("details: no conversation with a MOS")
    except ApiException as error:
        fail(f"details: HTTP {error.status} {error.body}")
    body = api.sanitize_for_serialization(query)
    status, raw = post_raw(base, token, DETAILS_PATH, body)
    if status != 200:
        fail(f"details: HTTP {status}")
    round_trip(api, raw, "AnalyticsConversationQueryResponse", "details page")
    body["paging"]["pageNumber"] = 100
    status, raw = post_raw(base, token, DETAILS_PATH, body)
    if status != 200 or "conversations" in raw:
        fail(f"details past the last page: HTTP {status}, {sorted(raw)}")
    round_trip(api, raw, "AnalyticsConversationQueryResponse", "details empty page")
    refusals = [
        dict(body, paging={"pageSize": 101, "pageNumber": 1}),
        dict(body, conversationFilters=[{"type": "and", "predicates": [
            {"type": "dimension", "dimension": "mediaType", "value": "voice"}]}]),
    ]
    for refused in refusals:
        status, raw = post_raw(base, token, DETAILS_PATH, refused)
        error = round_trip(api, raw, "ErrorBody", "details refusal")
        if status != 400 or not (error.details and error.details[0].field_name):
            fail(f"details refusal: HTTP {status}, {raw}")
    return 2 + len(refusals)


# The simulator's lists of filter names (src/simulator/details/filter.rs), by SDK enum.
FILTER_NAMES = [
    ("CONVERSATION_DIMENSIONS", "ConversationDetailQueryPredicate", "dimension"),
    ("CONVERSATION_METRICS", "ConversationDetailQueryPredicate", "metric"),
    ("SEGMENT_DIMENSIONS", "SegmentDetailQueryPredicate", "dimension"),
    ("SEGMENT_METRICS", "SegmentDetailQueryPredicate", "metric"),
]


def check_filter_names():
    """The details filters' names the simulator accepts are exactly the SDK's enums."""
    path = os.path.join(os.path.dirname(__file__), "..", "src", "simulator", "details", "filter.rs")
    text = open(path, encoding="utf-8").read()
    for constant, klass, field in FILTER_NAMES:
        body = re.search(rf"const {constant}: &\[&str\] = &\[(.*?)\];", text, re.S).group(1)
        ours = set(re.findall(r'"([^"]+)"', body))
        setter = getattr(getattr(models, klass), field).fset
        theirs = set(json.loads(re.search(r"allowed_values = (\[.*?\])", inspect.getsource(setter)).group(1)))
        if ours != theirs:
            fail(f"{constant} against the SDK's {klass}.{field}: ours only {sorted(ours - theirs)}, "
                 f"the SDK's only {sorted(theirs - ours)}")
    return len(FILTER_NAMES)


def details_only(base, client_id, client_secret):
    api = genesys.ApiClient(host=base)
    api.get_client_credentials_token(client_id, client_secret)
    checked = check_details(api, base, api.access_token)
    lists = check_filter_names()
    print(f"{checked} details answers, {lists} filter lists: {len(failures)} failures")
    return 1 if failures else 0


def check_trunks(api, base, token):
    """The trunk listing (every page through the SDK) and the trunks' metrics; how many
    trunks were listed."""
    edges = genesys.TelephonyProvidersEdgeApi(api)
    seen = read_every_page("trunk", edges.get_telephony_providers_edges_trunks, 2)
    listing = get_raw(base, token, "/api/v2/telephony/providers/edges/trunks?pageSize=100")
    round_trip(api, listing, "TrunkEntityListing", "trunks")
    ids = ",".join(trunk["id"] for trunk in listing["entities"])
    raw = get_raw(base, token, f"/api/v2/telephony/providers/edges/trunks/metrics?trunkIds={ids}")
    round_trip(api, raw, "list[TrunkMetrics]", "trunk metrics")
    metrics = edges.get_telephony_providers_edges_trunks_metrics(ids)
    if len(metrics) != seen or not all(m.calls and m.qos for m in metrics):
        fail(f"trunk metrics: {len(metrics)} for {seen} trunks, or without calls or qos")
    return seen


def main(base, catalog_rs):
    metrics = catalogue(catalog_rs, "CONVERSATION_METRICS")
    dimensions = catalogue(catalog_rs, "CONVERSATION_DIMENSIONS")
    api = genesys.ApiClient(host=base)
    api.get_client_credentials_token(CLIENT_ID, CLIENT_SECRET)
    token = api.access_token
    analytics = genesys.AnalyticsApi(api)
    routing = genesys.RoutingApi(api)
    aggregates_path = "/api/v2/analytics/conversations/aggregates/query"

    # Aggregates through the SDK's own request models, across granularities and zones.
    calls = 0
    for granularity in ["PT15M", "PT30M", "PT1H", "P1D"]:
        for zone in ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata"]:
            query = models.ConversationAggregationQuery()
            query.interval = DAY
            query.granularity = granularity
            query.time_zone = zone
            query.group_by = ["queueId", "mediaType", "direction"]
            query.metrics = ["nOffered", "nConnected", "tHandle", "tAnswered", "tAbandon", "oServiceLevel"]
            predicate = models.ConversationAggregateQueryPredicate()
            predicate.type = "dimension"
            predicate.dimension = "mediaType"
            predicate.operator = "matches"
            predicate.value = "voice"
            query.filter = models.ConversationAggregateQueryFilter()
            query.filter.type = "and"
            query.filter.predicates = [predicate]
            try:
                answer = analytics.post_analytics_conversations_aggregates_query(query)
                calls += 1
            except ApiException as error:
                fail(f"aggregates {granularity} {zone}: HTTP {error.status} {error.body}")
                continue
            if not answer.results:
                fail(f"aggregates {granularity} {zone}: no results in a whole day")
            body = api.sanitize_for_serialization(query)
            status, raw = post_raw(base, token, aggregates_path, body)
            round_trip(api, raw, "ConversationAggregateQueryResponse", f"aggregates {granularity} {zone}")

    # Every catalogue metric and dimension, as the raw answer the models must hold.
    for metric in sorted(metrics):
        status, raw = post_raw(base, token, aggregates_path, {"interval": HOUR, "metrics": [metric]})
        if status != 200:
            fail(f"metric {metric}: HTTP {status}")
        round_trip(api, raw, "ConversationAggregateQueryResponse", f"metric {metric}")
    for dimension in sorted(dimensions):
        status, raw = post_raw(
            base, token, aggregates_path,
            {"interval": HOUR, "metrics": ["nOffered"], "groupBy": [dimension]},
        )
        if status != 200:
            fail(f"dimension {dimension}: HTTP {status}")
        round_trip(api, raw, "ConversationAggregateQueryResponse", f"dimension {dimension}")

    # Queue pages through the SDK, every page.
    seen = read_every_page("queue", routing.get_routing_queues, 100)

    # Error bodies: each must parse into ErrorBody, details included.
    refusals = [
        {"interval": HOUR, "metrics": ["nOfered"]},
        {"interval": HOUR, "metrics": ["nOffered"], "groupBy": ["queueID"]},
        {"interval": "yesterday", "metrics": ["nOffered"]},
        {"interval": HOUR, "metrics": ["nOffered"], "filter": {"type": "or", "predicates": [
            {"type": "dimension", "dimension": "queueId", "value": str(i)} for i in range(101)]}},
    ]
    for body in refusals:
        status, raw = post_raw(base, token, aggregates_path, body)
        if status != 400:
            fail(f"refusal {json.dumps(body)[:80]}: HTTP {status}, not 400")
        error = round_trip(api, raw, "ErrorBody", f"refusal {json.dumps(body)[:80]}")
        if not (error.details and error.details[0].field_name):
            fail(f"refusal {json.dumps(body)[:80]}: no details[].fieldName")
    try:
        bad = models.ConversationAggregationQuery()
        bad.interval = HOUR
        bad.metrics = ["nOfered"]
        analytics.post_analytics_conversations_aggregates_query(bad)
        fail("the SDK's call with a misspelt metric succeeded")
    except ApiException as error:
        if error.status != 400:
            fail(f"the SDK's call with a misspelt metric: HTTP {error.status}")

    sources = check_sources(api, base, token, os.path.join(os.path.dirname(catalog_rs), "sources.rs"))
    details = check_details(api, base, token)
    trunks = check_trunks(api, base, token)

    print(f"{calls} SDK aggregates calls, {len(metrics)} metrics, {len(dimensions)} dimensions, "
          f"{seen} queues, {len(refusals)} refusals, {sources} other sources, "
          f"{details} details answers, {trunks} trunks: "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "--details":
        sys.exit(details_only(*sys.argv[2:5]))
    sys.exit(main(sys.argv[1], sys.argv[2]))
