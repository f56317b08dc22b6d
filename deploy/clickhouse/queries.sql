-- drivetrain's canned reports (drivetrain report --sql prints the same).
-- Generated from sinks/reports.go; rewrite with: go test ./sinks -run TestSchemaFiles -update

-- sales-by-day: Sales by day (last 14 days with sales; cancelled orders excluded)
SELECT toString(toDate(order_date)) AS day,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(quantity)) AS vehicles,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled'
GROUP BY day
ORDER BY day DESC
LIMIT 14;

-- make-model: Revenue by make and model (top 15)
SELECT make,
       model,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(quantity)) AS units,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND make != ''
GROUP BY make, model
ORDER BY sum(line_total) DESC, make, model
LIMIT 15;

-- city-segment: Revenue by customer city and segment (top 15)
SELECT customer_city AS city,
       customer_segment AS segment,
       toString(uniqExact(customer_id)) AS customers,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND customer_city != ''
GROUP BY city, segment
ORDER BY sum(line_total) DESC, city, segment
LIMIT 15;

-- payments: Payment status of the 15 most recent orders
SELECT toString(order_id) AS id,
       toString(any(order_date)) AS ordered_at,
       any(customer_name) AS customer,
       any(order_status) AS status,
       toString(any(order_total)) AS total,
       toString(any(order_paid)) AS paid,
       any(payment_status) AS payment
FROM drivetrain.sales_facts_current
GROUP BY order_id
ORDER BY max(order_date) DESC, order_id DESC
LIMIT 15;

-- inventory: Current inventory by stock status
SELECT stock_status,
       toString(count()) AS vehicles,
       toString(uniqExact(make)) AS makes,
       toString(sum(list_price)) AS list_value
FROM drivetrain.vehicles FINAL
WHERE _deleted = 0
GROUP BY stock_status
ORDER BY stock_status;
