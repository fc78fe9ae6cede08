-- The analytics read models, maintained incrementally by the analytics
-- consumer (one transaction per batch of events, together with
-- processed_events) and recomputable from OLTP by `supermarket analytics
-- rebuild`. Every answer of the analytics API reads a few rows of these
-- tables: nothing here is ever rescanned per request.
--
-- Days and hours are local to the store time zone (STORE_TIMEZONE) at the
-- moment of the purchase. Money is integer cents.

-- One row per customer: the "customer history summary".
CREATE TABLE customer_stats (
    customer_id       uuid PRIMARY KEY,
    purchases         bigint NOT NULL CHECK (purchases > 0),
    total_spent_cents bigint NOT NULL CHECK (total_spent_cents >= 0),
    first_purchase_at timestamptz NOT NULL,
    last_purchase_at  timestamptz NOT NULL
);
-- Loyal customers, most purchases first: an index scan that stops at the page.
CREATE INDEX customer_stats_by_purchases ON customer_stats (purchases DESC, customer_id);

-- How many customers have exactly `purchases` purchases. Unique and loyal
-- counts sum a handful of rows instead of counting millions of customers,
-- whatever the loyalty threshold. The consumer applies signed deltas with
-- INSERT ... ON CONFLICT DO UPDATE, whose proposed row carries the delta
-- alone: so no CHECK (customers >= 0) here; rows that reach 0 are deleted.
CREATE TABLE customer_purchase_histogram (
    purchases bigint PRIMARY KEY CHECK (purchases > 0),
    customers bigint NOT NULL
);

CREATE TABLE product_sales (
    product_id    integer PRIMARY KEY,
    product_name  text NOT NULL,
    units_sold    bigint NOT NULL,
    revenue_cents bigint NOT NULL
);

CREATE TABLE branch_daily_sales (
    day           date NOT NULL,
    branch_id     text NOT NULL,
    purchases     bigint NOT NULL,
    revenue_cents bigint NOT NULL,
    PRIMARY KEY (day, branch_id)
);

CREATE TABLE branch_hourly_sales (
    day           date NOT NULL,
    hour          smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    branch_id     text NOT NULL,
    purchases     bigint NOT NULL,
    revenue_cents bigint NOT NULL,
    PRIMARY KEY (day, hour, branch_id)
);

-- Who bought on which day: makes "unique customers on a day" incremental.
CREATE TABLE daily_customers (
    day         date NOT NULL,
    customer_id uuid NOT NULL,
    PRIMARY KEY (day, customer_id)
);

CREATE TABLE daily_unique_customers (
    day       date PRIMARY KEY,
    customers bigint NOT NULL
);

-- Chain-wide totals: a single row.
CREATE TABLE sales_totals (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    purchases     bigint NOT NULL DEFAULT 0,
    revenue_cents bigint NOT NULL DEFAULT 0,
    customers     bigint NOT NULL DEFAULT 0,
    items_sold    bigint NOT NULL DEFAULT 0
);
INSERT INTO sales_totals DEFAULT VALUES;

-- Pipeline freshness: a single row, updated with every applied batch.
CREATE TABLE pipeline_freshness (
    singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    events_applied    bigint NOT NULL DEFAULT 0,
    -- the newest purchase time among applied events
    last_purchased_at timestamptz,
    -- when JetStream stored the newest applied event
    last_published_at timestamptz,
    -- when the last batch was committed
    last_applied_at   timestamptz,
    dead_letters      bigint NOT NULL DEFAULT 0
);
INSERT INTO pipeline_freshness DEFAULT VALUES;

-- Messages the consumer could not apply (not a valid purchase.created).
-- They are acknowledged so that they never block the stream; kept here for
-- a person to inspect. One row per stream message.
CREATE TABLE dead_letters (
    stream_sequence bigint PRIMARY KEY,
    subject         text NOT NULL,
    payload         bytea NOT NULL,
    error           text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now()
);
