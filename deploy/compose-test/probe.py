#!/usr/bin/env python3
"""Client side of deploy/compose-test.sh: talks to a compose stack through
nginx only, as users do (standard library only, no third-party package).

    probe.py smoke   --https URL --plain URL --analytics URL --cacert FILE
                     --cashier TOKEN --owner TOKEN [--new-customers N]
    probe.py till    --base URL --cacert FILE --token TOKEN --customer UUID
                     --out FILE --stop-file FILE [--workers N]
    probe.py spread  --base URL --cacert FILE --token TOKEN --count N
    probe.py seen    --base URL --cacert FILE --owner TOKEN --customer UUID
                     --purchases N [--timeout S]

Each command prints `key=value` figures on stdout and exits non-zero, with
the reason on stderr, when a check fails.
"""

import argparse
import json
import os
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

ITEMS = [["milk", "bread"], ["eggs", "cheese", "apples"], ["cereal", "yogurt"]]


class Failed(Exception):
    pass


def context(cacert):
    return ssl.create_default_context(cafile=cacert) if cacert else None


def call(method, url, ctx=None, token=None, body=None, headers=None, cookie=None, timeout=10):
    """One request; returns (status, headers, parsed JSON or text)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if cookie:
        request.add_header("Cookie", cookie)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), NoRedirect())
    try:
        with opener.open(request, timeout=timeout) as response:
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, error.headers, error.read()
    text = raw.decode("utf-8", "replace")
    if "json" in (head.get("Content-Type") or ""):
        try:
            return status, head, json.loads(text)
        except ValueError:
            pass
    return status, head, text


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def expect(condition, message):
    if not condition:
        raise Failed(message)


def figure(name, value):
    print(f"{name}={value}", flush=True)


# --- smoke: every promise of the stack, through each edge port ---------------

def smoke(args):
    ctx = context(args.cacert)
    https, plain, analytics = args.https.rstrip("/"), args.plain.rstrip("/"), args.analytics.rstrip("/")

    # The original data, as the owner reads it (original paths, plain :8001).
    status, _, unique = call("GET", f"{analytics}/unique-customers", token=args.owner)
    expect(status == 200, f"/unique-customers answered {status}: {unique}")
    base_unique = 1762 + args.new_customers
    expect(unique.get("unique_customers") == base_unique,
           f"/unique-customers is {unique.get('unique_customers')}, expected {base_unique}")
    status, _, loyal = call("GET", f"{analytics}/loyal-customers", token=args.owner)
    expect(status == 200 and loyal.get("count") == 142, f"/loyal-customers: {status} count={loyal.get('count') if isinstance(loyal, dict) else loyal}")
    status, _, top = call("GET", f"{analytics}/top-products", token=args.owner)
    names = [p.get("product") for p in top.get("products", [])][:3] if isinstance(top, dict) else []
    expect(status == 200 and names == ["milk", "eggs", "bread"], f"/top-products: {status} {top}")
    figure("original_data", f"unique={base_unique},loyal=142,top=milk/eggs/bread")

    # A cashier may not read the owner's data.
    status, _, _ = call("GET", f"{https}/unique-customers", ctx, token=args.cashier)
    expect(status == 403, f"cashier token on /unique-customers answered {status}, expected 403")
    status, _, _ = call("GET", f"{https}/api/v1/analytics/kpis", ctx)
    expect(status == 401, f"anonymous /api/v1/analytics/kpis answered {status}, expected 401")

    # Sales on both contracts: HTTPS v1, and the original POST /purchase on :8000.
    customer = str(uuid.uuid4())
    start = time.monotonic()
    status, _, receipt = call("POST", f"{https}/api/v1/purchases", ctx, token=args.cashier,
                              body={"branch_id": "SMKT002", "customer_id": customer, "items": ["milk", "bread"]},
                              headers={"Idempotency-Key": str(uuid.uuid4())})
    expect(status == 201, f"POST /api/v1/purchases over HTTPS answered {status}: {receipt}")
    expect(receipt.get("total_cents") == 350, f"receipt total {receipt.get('total_cents')}, expected 350")
    seen_after = wait_seen(ctx, https, args.owner, customer, 1, timeout=10)
    expect(seen_after <= 2.0, f"the sale reached analytics after {seen_after:.2f} s (promise: 2 s)")
    figure("sale_to_analytics_s", f"{time.monotonic() - start:.2f}")

    status, _, receipt = call("POST", f"{plain}/purchase", token=args.cashier,
                              body={"supermarket_id": "SMKT003", "user_id": str(uuid.uuid4()), "items_list": ["eggs", "cheese"]})
    expect(status in (200, 201), f"POST /purchase on the cash-register port answered {status}: {receipt}")
    figure("original_purchase_status", status)

    status, _, unique = call("GET", f"{https}/unique-customers", ctx, token=args.owner)
    deadline = time.monotonic() + 10
    while unique.get("unique_customers") != base_unique + 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        status, _, unique = call("GET", f"{https}/unique-customers", ctx, token=args.owner)
    expect(unique.get("unique_customers") == base_unique + 2,
           f"/unique-customers is {unique.get('unique_customers')} after two sales to new customers, expected {base_unique + 2}")
    figure("unique_after_two_sales", base_unique + 2)

    # The pages: a bearer token, and a browser's sign-in with a session cookie.
    status, head, page = call("GET", f"{https}/pos", ctx, token=args.cashier)
    expect(status == 200 and "text/html" in head.get("Content-Type", ""), f"/pos answered {status}")
    status, head, _ = call("POST", f"{https}/auth/login", ctx, body={"token": args.owner})
    cookie = (head.get("Set-Cookie") or "").split(";")[0]
    expect(status == 200 and cookie, f"owner sign-in answered {status} without a session cookie")
    status, head, page = call("GET", f"{https}/dashboard", ctx, cookie=cookie)
    expect(status == 200 and "<html" in page.lower(), f"/dashboard with the session answered {status}")
    status, head, _ = call("GET", f"{https}/dashboard", ctx)
    expect(status in (302, 303, 307, 401), f"/dashboard without a session answered {status}")
    figure("pages", "pos,dashboard")

    # Plain :80 (mapped) sends browsers to HTTPS.
    if args.redirect:
        status, head, _ = call("GET", f"{args.redirect.rstrip('/')}/pos")
        expect(status == 308 and head.get("Location", "").startswith("https://"), f"plain HTTP /pos answered {status}")
    print(f"new_customers={args.new_customers + 2}")


def wait_seen(ctx, base, owner, customer, purchases, timeout):
    """Seconds until the analytics API counts `purchases` for the customer."""
    start = time.monotonic()
    while True:
        status, _, body = call("GET", f"{base}/api/v1/analytics/customers/{customer}", ctx, token=owner)
        if status == 200 and body.get("purchases") == purchases:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise Failed(f"customer {customer}: analytics shows {body} after {timeout} s, expected {purchases} purchases")
        time.sleep(0.05)


def seen(args):
    ctx = context(args.cacert)
    waited = wait_seen(ctx, args.base.rstrip("/"), args.owner, args.customer, args.purchases, args.timeout)
    figure("analytics_caught_up_s", f"{waited:.2f}")


# --- till: sells until told to stop, retrying each sale with its own key -------

def till(args):
    ctx = context(args.cacert)
    url = f"{args.base.rstrip('/')}/api/v1/purchases"
    lock = threading.Lock()
    stats = {"acked": 0, "retries": 0, "gave_up": 0, "longest_s": 0.0}
    out = open(args.out, "a", buffering=1)

    def worker(n):
        i = 0
        while not os.path.exists(args.stop_file):
            key = str(uuid.uuid4())
            body = {"branch_id": f"SMKT00{1 + (n + i) % 3}", "customer_id": args.customer, "items": ITEMS[i % len(ITEMS)]}
            i += 1
            first = time.monotonic()
            while True:
                try:
                    status, _, receipt = call("POST", url, ctx, token=args.token, body=body,
                                              headers={"Idempotency-Key": key}, timeout=10)
                except OSError:
                    status, receipt = None, None
                if status == 201:
                    with lock:
                        stats["acked"] += 1
                        stats["longest_s"] = max(stats["longest_s"], time.monotonic() - first)
                        out.write(f"{key}\t{receipt['purchase_id']}\n")
                    break
                with lock:
                    stats["retries"] += 1
                if time.monotonic() - first > 180:
                    with lock:
                        stats["gave_up"] += 1
                    break
                time.sleep(0.2)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, value in stats.items():
        figure(name, f"{value:.2f}" if isinstance(value, float) else value)
    expect(stats["gave_up"] == 0, f"{stats['gave_up']} sale(s) were never acknowledged within 180 s")


# --- spread: which replicas served a burst of sales ---------------------------

def spread(args):
    ctx = context(args.cacert)
    customer = str(uuid.uuid4())
    for i in range(args.count):
        status, _, body = call("POST", f"{args.base.rstrip('/')}/api/v1/purchases", ctx, token=args.token,
                               body={"branch_id": "SMKT001", "customer_id": customer, "items": ITEMS[i % 3]},
                               headers={"Idempotency-Key": str(uuid.uuid4()), "X-Request-Id": f"spread-{customer}-{i}"})
        expect(status == 201, f"sale {i} answered {status}: {body}")
    figure("spread_customer", customer)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("smoke")
    for name in ("https", "plain", "analytics", "cacert", "cashier", "owner"):
        s.add_argument(f"--{name}", required=True)
    s.add_argument("--redirect")
    s.add_argument("--new-customers", type=int, default=0)
    t = commands.add_parser("till")
    for name in ("base", "cacert", "token", "customer", "out", "stop-file"):
        t.add_argument(f"--{name}", required=True)
    t.add_argument("--workers", type=int, default=4)
    p = commands.add_parser("spread")
    for name in ("base", "cacert", "token"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--count", type=int, default=30)
    w = commands.add_parser("seen")
    for name in ("base", "cacert", "owner", "customer"):
        w.add_argument(f"--{name}", required=True)
    w.add_argument("--purchases", type=int, required=True)
    w.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    try:
        {"smoke": smoke, "till": till, "spread": spread, "seen": seen}[args.command](args)
    except Failed as failure:
        print(f"probe {args.command}: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
