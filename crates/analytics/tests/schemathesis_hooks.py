"""Rules of the analytics reports, as Schemathesis checks.

Loaded by tests/analytics/fuzz.rs next to tests/schemathesis.toml:

- a schema-valid request is refused only when its two dates do not make a
  range the report serves (400 `invalid-range`);
- an answer keeps the rules of its report: loyal customers have at least
  `min_purchases` purchases, pages are no longer than their limit and match
  their prefix, sales rows lie in the asked range and branch, top products
  are ranked 1 to 3.
"""

import schemathesis

RANGES = {"/api/v1/analytics/sales/daily", "/api/v1/analytics/sales/hourly"}


@schemathesis.check
def refusals_of_valid_requests_are_range_rules(ctx, response, case):
    if case.path not in RANGES or response.status_code != 400:
        return None
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    kind = response.json().get("type")
    if kind != "/problems/invalid-range":
        raise AssertionError(f"a schema-valid request was refused with {kind}: only /problems/invalid-range may refuse one")
    return None


def _query(case):
    return case.query or {}


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@schemathesis.check
def reports_keep_their_rules(ctx, response, case):
    if response.status_code != 200 or case.method.upper() != "GET":
        return None
    body = response.json()
    query = _query(case)
    if case.path == "/loyal-customers":
        customers = body["customers"]
        limit = _int(query.get("limit"), None)
        if limit is not None and len(customers) > limit:
            raise AssertionError(f"{len(customers)} customers for limit {limit}")
        if any(c["purchases"] < body["min_purchases"] for c in customers):
            raise AssertionError(f"a customer below {body['min_purchases']} purchases is listed as loyal: {customers}")
        if body["count"] < len(customers):
            raise AssertionError(f"count {body['count']} is below the {len(customers)} customers listed")
    elif case.path == "/api/v1/analytics/loyal-customers":
        customers = body["customers"]
        if len(customers) > body["limit"] or body["limit"] != _int(query.get("limit"), 50):
            raise AssertionError(f"{len(customers)} customers, limit {body['limit']}, asked {query.get('limit')}")
        if any(c["purchases"] < body["min_purchases"] for c in customers):
            raise AssertionError(f"a customer below {body['min_purchases']} purchases is listed as loyal: {customers}")
        prefix = (query.get("prefix") or "").replace("-", "").lower()
        if any(not c["customer_id"].replace("-", "").startswith(prefix) for c in customers):
            raise AssertionError(f"a customer outside prefix {prefix!r} is listed: {customers}")
    elif case.path == "/top-products":
        ranks = [p["rank"] for p in body["products"]]
        if ranks != sorted(ranks) or any(not 1 <= r <= 3 for r in ranks):
            raise AssertionError(f"top products ranked {ranks}")
    elif case.path in RANGES:
        low, high = query.get("from"), query.get("to")
        branch = query.get("branch")
        for row in body:
            if (low and row["day"] < low) or (high and row["day"] > high):
                raise AssertionError(f"row of {row['day']} outside {low}..{high}")
            if branch and row["branch_id"] != branch:
                raise AssertionError(f"row of branch {row['branch_id']} for branch={branch}")
    elif case.path.startswith("/api/v1/analytics/customers/"):
        if body["loyal"] != (body["purchases"] >= 3):
            raise AssertionError(f"loyal is {body['loyal']} with {body['purchases']} purchases (threshold 3)")
    return None
