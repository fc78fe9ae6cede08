"""Business rules of the purchases API, as Schemathesis checks.

Loaded by tests/purchases_api/fuzz.rs next to tests/schemathesis.toml. They
run on every response to the two operations that record a sale:

- a schema-valid request may only be refused for a rule the catalog decides
  (unknown branch, unknown product, the same product twice);
- an accepted sale keeps every rule: each requested product once, none
  merged or dropped, the requested branch and customer, a total that is the
  sum of the catalog prices.
"""

import schemathesis

CREATE = {("POST", "/api/v1/purchases"), ("POST", "/purchase")}
CATALOG_RULES = {"/problems/unknown-branch", "/problems/unknown-product", "/problems/repeated-product"}


def _creates(case):
    return (case.method.upper(), case.path) in CREATE


@schemathesis.check
def refusals_of_valid_sales_are_catalog_rules(ctx, response, case):
    if not _creates(case) or response.status_code != 422:
        return None
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    kind = response.json().get("type")
    if kind not in CATALOG_RULES:
        raise AssertionError(
            f"a schema-valid sale was refused with {kind}: only {', '.join(sorted(CATALOG_RULES))} "
            "may refuse one; any other rule belongs in the schema"
        )
    return None


def _requested(case):
    """(branch, customer, product keys, quantities) of a sale request, or None."""
    body = case.body
    if not isinstance(body, dict):
        return None
    if case.path == "/purchase":
        names = body.get("items_list")
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        if not isinstance(names, list):
            return None
        return body.get("supermarket_id"), body.get("user_id"), names, []
    items = body.get("items")
    if not isinstance(items, list):
        return None
    keys = [item.get("product") if isinstance(item, dict) else item for item in items]
    quantities = [item.get("quantity") for item in items if isinstance(item, dict)]
    return body.get("branch_id"), body.get("customer_id"), keys, quantities


@schemathesis.check
def accepted_sales_keep_the_rules(ctx, response, case):
    if not _creates(case) or not 200 <= response.status_code < 300:
        return None
    requested = _requested(case)
    if requested is None:
        return None
    branch, customer, keys, quantities = requested
    receipt = response.json()
    items = receipt["items"]
    ids = [item["product_id"] for item in items]
    names = {item["name"] for item in items}
    if len(set(ids)) != len(ids):
        raise AssertionError(f"the receipt lists a product more than once: {ids}")
    if len(items) != len(keys):
        raise AssertionError(f"{len(keys)} items were sent and {len(items)} stored: a repeated product was merged or dropped")
    for key in keys:
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise AssertionError(f"an item of shape {key!r} was accepted")
        found = key in ids if isinstance(key, int) else key.strip().lower() in names
        if not found:
            raise AssertionError(f"item {key!r} is not on the receipt {items}")
    if any(quantity not in (None, 1) for quantity in quantities):
        raise AssertionError(f"quantities other than 1 were accepted: {quantities}")
    if receipt["branch_id"] != branch:
        raise AssertionError(f"branch {branch!r} was requested and {receipt['branch_id']!r} stored")
    if customer is not None and receipt["customer_id"].lower() != customer.lower():
        raise AssertionError(f"customer {customer!r} was sent and {receipt['customer_id']!r} stored")
    total = sum(item["unit_price_cents"] for item in items)
    if receipt["total_cents"] != total:
        raise AssertionError(f"total {receipt['total_cents']} is not the sum of the prices, {total}")
    if receipt["total"] != f"{total // 100}.{total % 100:02d}":
        raise AssertionError(f"total {receipt['total']!r} does not read {total} cents")
    return None
