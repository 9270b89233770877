"""Locust users of the Sagaflow gateway: shoppers who browse the catalogue
(`GET /v1/products`, filtered and paged, and `GET /v1/products/{sku}` revalidated
with If-None-Match), read their own history, checkout and cart, fill a cart and
check it out by `cart_id` alone (or by items, every other time or without cart
routes), following the checkout saga until it ends. No request names a price:
prices come from the catalogue.

Every simulated user is a distinct user id with its own HS256 JWT (PyJWT, signed
with GATEWAY_JWT_HS256_SECRET; claims sub, tenant_id, iss, aud, exp as the gateway
checks them). The cart routes (`PUT /v1/carts/{id}/items/{sku}`, `GET
/v1/carts/{id}`) are used when the gateway has them (probed at the start);
otherwise the checkout sends its items without a cart. The SKUs bought are the
catalogue's active products priced in EUR (read at the start) unless LOCUST_SKUS
names them.

A checkout's end-to-end time (POST until the saga's final status) is reported as
request type SAGA, name "checkout end to end"; a checkout that does not complete
within LOCUST_CHECKOUT_DEADLINE_SECS (30) is a failure there.

At the end the run fails (exit code 1) when more than LOCUST_MAX_FAIL_RATIO (0.01)
of the requests failed; p99 latencies are printed against the SLOs (reads 150 ms,
writes 300 ms).

    GATEWAY_JWT_HS256_SECRET   required (infra/dev/env.sh exports the dev one)
    LOCUST_SKUS                SKUs with stock (default: from the catalogue)
    LOCUST_TENANT (loadtest), LOCUST_RUN_ID (unique per run: user ids are <run>-u<n>)
    GATEWAY_JWT_ISSUER (sagaflow), GATEWAY_JWT_AUDIENCE (sagaflow-api)

Run: loadtest/locust/smoke.sh (headless), or
    locust -f loadtest/locust/locustfile.py --host http://127.0.0.1:8080
"""

import itertools
import os
import random
import time
import uuid

import jwt
from locust import HttpUser, between, events, task

SECRET = os.environ.get("GATEWAY_JWT_HS256_SECRET", "")
ISSUER = os.environ.get("GATEWAY_JWT_ISSUER", "sagaflow")
AUDIENCE = os.environ.get("GATEWAY_JWT_AUDIENCE", "sagaflow-api")
TENANT = os.environ.get("LOCUST_TENANT", "loadtest")
RUN_ID = os.environ.get("LOCUST_RUN_ID") or f"locust-{int(time.time()):x}"
SKUS = [s.strip() for s in os.environ.get("LOCUST_SKUS", "").split(",") if s.strip()]
CHECKOUT_DEADLINE_SECS = float(os.environ.get("LOCUST_CHECKOUT_DEADLINE_SECS", "30"))
MAX_FAIL_RATIO = float(os.environ.get("LOCUST_MAX_FAIL_RATIO", "0.01"))
TOKEN_TTL_SECS = 3600
COUNTRIES = ["DE", "FR"]
TERMINAL = {"completed", "compensated", "failed", "compensation_failed"}
SLO_P99_MS = {"GET": 150, "PUT": 300, "POST": 300, "DELETE": 300}

_user_numbers = itertools.count(1)
# Whether the gateway serves /v1/carts, decided at test start.
cart_routes = {"enabled": True}


def mint(sub):
    """An HS256 bearer token for `sub`, and its expiry (epoch seconds)."""
    now = int(time.time())
    exp = now + TOKEN_TTL_SECS
    claims = {"sub": sub, "tenant_id": TENANT, "iss": ISSUER, "aud": AUDIENCE,
              "iat": now, "exp": exp}
    return jwt.encode(claims, SECRET, algorithm="HS256"), exp


@events.init.add_listener
def _check_secret(environment, **_kwargs):
    if len(SECRET.encode()) < 32:
        raise SystemExit("GATEWAY_JWT_HS256_SECRET must be set (32 bytes or more); "
                         "source infra/dev/env.sh")


@events.test_start.add_listener
def _probe_cart_routes(environment, **_kwargs):
    """Takes the SKUs from the catalogue unless LOCUST_SKUS names them, then PUTs a
    line into a fresh cart of a probe user: 200 means the cart routes exist."""
    import requests  # locust depends on it

    host = (environment.host or "").rstrip("/")
    if not SKUS:
        res = requests.get(f"{host}/v1/products", params={"limit": 100}, timeout=10)
        res.raise_for_status()
        SKUS.extend(p["sku"] for p in res.json().get("items", [])
                    if any(x.get("currency") == "EUR" for x in p.get("prices", [])))
    if not SKUS:
        raise SystemExit("no SKUs to buy: the catalogue has no product priced in EUR "
                         "and LOCUST_SKUS is not set")
    token, _ = mint(f"{RUN_ID}-probe")
    try:
        res = requests.put(f"{host}/v1/carts/{uuid.uuid4()}/items/{SKUS[0]}",
                           json={"quantity": 1},
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
        cart_routes["enabled"] = res.status_code == 200
    except requests.RequestException:
        cart_routes["enabled"] = False
    if not cart_routes["enabled"]:
        print("note: the gateway has no /v1/carts routes; shoppers check out without a cart")


@events.quitting.add_listener
def _verdict(environment, **_kwargs):
    """Fails the run on a failure ratio over MAX_FAIL_RATIO; prints p99s vs the SLOs."""
    stats = environment.stats
    total = stats.total
    for entry in sorted(stats.entries.values(), key=lambda e: (e.method or "", e.name)):
        slo = SLO_P99_MS.get(entry.method or "")
        if slo and entry.num_requests:
            p99 = entry.get_response_time_percentile(0.99)
            mark = "ok" if p99 <= slo else "OVER SLO"
            print(f"p99 {entry.method} {entry.name}: {p99:.0f} ms (SLO {slo} ms) {mark}")
    ratio = total.fail_ratio
    print(f"requests {total.num_requests}, failures {total.num_failures} "
          f"({ratio:.2%}; limit {MAX_FAIL_RATIO:.0%})")
    if total.num_requests == 0:
        print("FAIL: no requests were made")
        environment.process_exit_code = 1
    elif ratio > MAX_FAIL_RATIO:
        print("FAIL: failure ratio over the limit")
        environment.process_exit_code = 1
    else:
        environment.process_exit_code = 0


class Shopper(HttpUser):
    """Browses most of the time, sometimes fills the cart, now and then checks out."""

    wait_time = between(0.5, 1.5)

    def on_start(self):
        self.user_id = f"{RUN_ID}-u{next(_user_numbers)}"
        self.token, self.exp = mint(self.user_id)
        self.cart_id = str(uuid.uuid4())
        self.cart_lines = {}
        self.checkout_ids = []
        self.etags = {}

    def auth(self, **extra):
        if self.exp - time.time() < 60:
            self.token, self.exp = mint(self.user_id)
        return {"Authorization": f"Bearer {self.token}", **extra}

    # --- browsing ---------------------------------------------------------------

    @task(6)
    def catalogue(self):
        """A page of products (sometimes filtered, sometimes the next page)."""
        params = {"limit": 20}
        if random.random() < 0.3:
            params["q"] = random.choice(SKUS)[:3]
        with self.client.get("/v1/products", params=params, name="/v1/products",
                             catch_response=True) as res:
            if res.status_code != 200 or not isinstance(res.json().get("items"), list):
                res.failure(f"status {res.status_code}")
                return
            cursor = res.json().get("next_cursor")
        if cursor and random.random() < 0.3:
            self.client.get("/v1/products", params={"limit": 20, "cursor": cursor},
                            name="/v1/products")

    @task(6)
    def product(self):
        """One product, revalidated with the ETag held for it (304 when unchanged)."""
        sku = random.choice(SKUS)
        headers = {"If-None-Match": self.etags[sku]} if sku in self.etags else {}
        with self.client.get(f"/v1/products/{sku}", headers=headers,
                             name="/v1/products/{sku}", catch_response=True) as res:
            if res.status_code not in (200, 304):
                res.failure(f"status {res.status_code}")
                return
            if not res.headers.get("ETag"):
                res.failure("no ETag")
                return
            res.success()
            self.etags[sku] = res.headers["ETag"]

    @task(5)
    def history(self):
        with self.client.get("/v1/history", headers=self.auth(), name="/v1/history",
                             catch_response=True) as res:
            if res.status_code != 200:
                res.failure(f"status {res.status_code}")
            elif not isinstance(res.json().get("items"), list):
                res.failure("no items list")

    @task(3)
    def view_checkout(self):
        if not self.checkout_ids:
            return self.history()
        checkout_id = random.choice(self.checkout_ids)
        self.client.get(f"/v1/checkouts/{checkout_id}", headers=self.auth(),
                        name="/v1/checkouts/{id}")

    @task(2)
    def view_cart(self):
        if not cart_routes["enabled"] or not self.cart_lines:
            return self.history()
        self.client.get(f"/v1/carts/{self.cart_id}", headers=self.auth(),
                        name="/v1/carts/{id}")

    # --- filling the cart and checking out --------------------------------------

    @task(2)
    def fill_cart(self):
        sku = random.choice(SKUS)
        quantity = self.cart_lines.get(sku, 0) + 1
        if cart_routes["enabled"]:
            res = self.client.put(f"/v1/carts/{self.cart_id}/items/{sku}",
                                  json={"quantity": quantity},
                                  headers=self.auth(), name="/v1/carts/{id}/items/{sku}")
            if res.status_code != 200:
                return
        self.cart_lines[sku] = quantity

    @task(1)
    def checkout(self):
        if not self.cart_lines:
            self.fill_cart()
        if not self.cart_lines:
            return
        body = {
            "cart_id": self.cart_id,
            "currency": "EUR",
            "shipping_country": random.choice(COUNTRIES),
            "payment_method": "card",
            "customer_email": "loadtest@example.com",
        }
        # The cart's lines by cart_id alone, or (every other time, or without cart
        # routes) the same lines as items.
        if not cart_routes["enabled"] or random.random() < 0.5:
            body["items"] = [{"sku": sku, "quantity": q} for sku, q in self.cart_lines.items()]
        started = time.monotonic()
        with self.client.post("/v1/checkouts", json=body, name="/v1/checkouts",
                              headers=self.auth(**{"Idempotency-Key": str(uuid.uuid4())}),
                              catch_response=True) as res:
            if res.status_code != 202:
                res.failure(f"status {res.status_code}: {res.text[:200]}")
                return
            checkout_id = res.json()["checkout_id"]
        self.checkout_ids = (self.checkout_ids + [checkout_id])[-20:]
        # The saga clears the cart: start a new one.
        self.cart_id, self.cart_lines = str(uuid.uuid4()), {}
        status = self.follow(checkout_id)
        elapsed_ms = (time.monotonic() - started) * 1000
        events.request.fire(
            request_type="SAGA", name="checkout end to end", response_time=elapsed_ms,
            response_length=0, context={}, url=None, response=None,
            exception=None if status == "completed" else Exception(f"checkout ended {status}"))

    def follow(self, checkout_id):
        """Polls the checkout until its saga ends; returns its status or 'timeout'."""
        deadline = time.monotonic() + CHECKOUT_DEADLINE_SECS
        while True:
            res = self.client.get(f"/v1/checkouts/{checkout_id}", headers=self.auth(),
                                  name="/v1/checkouts/{id} (poll)")
            if res.status_code != 200:
                return f"http {res.status_code}"
            status = res.json().get("status", "")
            if status in TERMINAL:
                return status
            if time.monotonic() > deadline:
                return "timeout"
            time.sleep(0.25)
