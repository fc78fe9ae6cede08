"""Rules of the catalog, as Schemathesis checks.

Loaded by tests/products_api.rs next to tests/schemathesis.toml: prices are
exact (`price` is `price_cents` written with two decimals, and positive),
lists come in id order, and a product asked for by id is that product.
"""

import schemathesis


def _check_product(product):
    cents = product["price_cents"]
    if cents <= 0:
        raise AssertionError(f"product {product['id']} costs {cents} cents")
    if product["price"] != f"{cents // 100}.{cents % 100:02d}":
        raise AssertionError(f"price {product['price']!r} does not read {cents} cents")
    if not product["name"] or product["name"] != product["name"].strip().lower():
        raise AssertionError(f"product name {product['name']!r} is not trimmed lower case")


@schemathesis.check
def the_catalog_keeps_its_rules(ctx, response, case):
    if response.status_code != 200 or case.method.upper() != "GET":
        return None
    body = response.json()
    if case.path == "/api/v1/products":
        ids = [product["id"] for product in body]
        if ids != sorted(set(ids)):
            raise AssertionError(f"products are not in id order, once each: {ids}")
        for product in body:
            _check_product(product)
    elif case.path.startswith("/api/v1/products/"):
        _check_product(body)
        asked = (case.path_parameters or {}).get("id")
        if str(body["id"]) != str(asked).strip():
            raise AssertionError(f"product {asked} was asked for and product {body['id']} answered")
    elif case.path == "/api/v1/branches":
        ids = [branch["id"] for branch in body]
        if ids != sorted(set(ids)):
            raise AssertionError(f"branches are not in id order, once each: {ids}")
    return None
