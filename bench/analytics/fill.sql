-- Fills the analytics read models as 10 million purchases by 3 million
-- customers over one year would leave them. Rows are generated directly
-- (generate_series), not through events: this measures the API's reads at
-- scale, not the consumer. Parameters are substituted by the driver:
--   :customers  number of customers (default 3,000,000)
-- Purchases per customer follow a geometric law of mean 3.33, so the
-- purchases add up to about 10 million and about half of the customers
-- have 3 or more (loyal). processed_events and daily_customers (one row per
-- purchase / per customer-day) are not filled: only the consumer writes and
-- reads them, never the API.

TRUNCATE customer_stats, customer_purchase_histogram, product_sales, branch_daily_sales, branch_hourly_sales,
         daily_unique_customers;

INSERT INTO customer_stats (customer_id, purchases, total_spent_cents, first_purchase_at, last_purchase_at)
SELECT id, n, n * 735, first_at, first_at + (n - 1) * interval '1 day'
FROM (
    SELECT gen_random_uuid() AS id,
           1 + floor(-ln(1 - random()) * 2.8)::bigint AS n,
           timestamptz '2025-01-01 08:00:00Z' + random() * interval '300 days' AS first_at
    FROM generate_series(1, :customers)
) AS c
ORDER BY id;

INSERT INTO customer_purchase_histogram (purchases, customers)
SELECT purchases, count(*) FROM customer_stats GROUP BY purchases;

INSERT INTO product_sales (product_id, product_name, units_sold, revenue_cents)
SELECT i, name, units, units * price
FROM (VALUES (1, 'milk', 2500000, 150), (2, 'bread', 2450000, 200), (3, 'eggs', 2450000, 300), (4, 'chicken', 1900000, 650),
             (5, 'toilet paper', 1500000, 450), (6, 'rice', 1400000, 250), (7, 'apples', 1300000, 320),
             (8, 'cheese', 1250000, 580), (9, 'coffee', 1100000, 790), (10, 'pasta', 1000000, 180)) AS p(i, name, units, price);

INSERT INTO branch_daily_sales (day, branch_id, purchases, revenue_cents)
SELECT d::date, 'SMKT00' || b, 9132, 9132 * 735
FROM generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') AS d, generate_series(1, 3) AS b;

INSERT INTO branch_hourly_sales (day, hour, branch_id, purchases, revenue_cents)
SELECT d::date, h, 'SMKT00' || b, 652, 652 * 735
FROM generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') AS d, generate_series(8, 21) AS h,
     generate_series(1, 3) AS b;

INSERT INTO daily_unique_customers (day, customers)
SELECT d::date, 26000 FROM generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') AS d;

UPDATE sales_totals SET purchases = s.purchases, revenue_cents = s.revenue, customers = s.customers,
                        items_sold = (SELECT sum(units_sold) FROM product_sales)
FROM (SELECT sum(purchases) AS purchases, sum(total_spent_cents) AS revenue, count(*) AS customers FROM customer_stats) AS s;

UPDATE pipeline_freshness SET events_applied = (SELECT purchases FROM sales_totals), last_purchased_at = now(),
                              last_published_at = now(), last_applied_at = now();

