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

-- The dashboard's queries (drivetrain dashboard, deploy/grafana/dashboards/sales.json).
-- Written by hand below the generated part; the test of sinks keeps only the part above.
-- {name:Type} marks a parameter, in ClickHouse's own syntax: drivetrain dashboard binds
-- each from a typed value (now, from, to: DateTime; bucket, email: String; order_id:
-- Int64), never by pasting text, and Grafana's panels use $__fromTime, $__toTime, now()
-- and dashboard variables in their place. Times are UTC; cancelled orders bring no revenue.

-- now-kpis: Revenue, orders and vehicles sold today and in the last hour
SELECT toString(sumIf(line_total, order_date >= toStartOfDay({now:DateTime}, 'UTC'))) AS revenue_today,
       toString(uniqExactIf(order_id, order_date >= toStartOfDay({now:DateTime}, 'UTC'))) AS orders_today,
       toString(sumIf(quantity, order_date >= toStartOfDay({now:DateTime}, 'UTC'))) AS units_today,
       toString(sumIf(line_total, order_date >= {now:DateTime} - INTERVAL 1 HOUR)) AS revenue_hour,
       toString(uniqExactIf(order_id, order_date >= {now:DateTime} - INTERVAL 1 HOUR)) AS orders_hour,
       toString(sumIf(quantity, order_date >= {now:DateTime} - INTERVAL 1 HOUR)) AS units_hour
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled'
  AND order_date >= least(toStartOfDay({now:DateTime}, 'UTC'), {now:DateTime} - INTERVAL 1 HOUR)
  AND order_date <= {now:DateTime};

-- now-per-minute: Revenue per minute over the last three hours
SELECT concat(replaceOne(toString(toStartOfMinute(order_date)), ' ', 'T'), 'Z') AS minute,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled'
  AND order_date >= {now:DateTime} - INTERVAL 3 HOUR
  AND order_date <= {now:DateTime}
GROUP BY minute
ORDER BY minute;

-- now-latest: The 20 latest orders with their customer, vehicles and payment
SELECT toString(order_id) AS order_no,
       toString(max(order_date)) AS ordered_at,
       any(customer_name) AS customer,
       arrayStringConcat(arraySort(groupArray(concat(make, ' ', model, if(quantity > 1, concat(' ×', toString(quantity)), '')))), ', ') AS vehicles,
       any(order_status) AS status,
       toString(any(order_total)) AS total,
       any(payment_status) AS payment
FROM drivetrain.sales_facts_current
WHERE order_date <= {now:DateTime}
GROUP BY order_id
ORDER BY max(order_date) DESC, order_id DESC
LIMIT 20;

-- products-make-model: Revenue and units by make and model over the period (top 20)
SELECT make,
       model,
       toString(sum(quantity)) AS units,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND make != ''
  AND order_date >= {from:DateTime} AND order_date < {to:DateTime}
GROUP BY make, model
ORDER BY sum(line_total) DESC, make, model
LIMIT 20;

-- products-body-fuel: Revenue and units by body and fuel type over the period
SELECT body_type,
       fuel_type,
       toString(sum(quantity)) AS units,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND body_type != ''
  AND order_date >= {from:DateTime} AND order_date < {to:DateTime}
GROUP BY body_type, fuel_type
ORDER BY sum(line_total) DESC, body_type, fuel_type;

-- products-condition: Revenue and units by vehicle condition over the period
SELECT condition,
       toString(sum(quantity)) AS units,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND condition != ''
  AND order_date >= {from:DateTime} AND order_date < {to:DateTime}
GROUP BY condition
ORDER BY sum(line_total) DESC, condition;

-- customers-city: Revenue by customer city over the period (top 15)
SELECT customer_city AS city,
       customer_country AS country,
       toString(uniqExact(customer_id)) AS customers,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND customer_city != ''
  AND order_date >= {from:DateTime} AND order_date < {to:DateTime}
GROUP BY city, country
ORDER BY sum(line_total) DESC, city, country
LIMIT 15;

-- customers-region: Revenue by customer region over the period (top 20)
SELECT if(customer_region = '', '(none)', customer_region) AS region,
       customer_country AS country,
       toString(uniqExact(customer_id)) AS customers,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND customer_country != ''
  AND order_date >= {from:DateTime} AND order_date < {to:DateTime}
GROUP BY region, country
ORDER BY sum(line_total) DESC, region, country
LIMIT 20;

-- customers-country: Revenue by customer country over the period
SELECT customer_country AS country,
       toString(uniqExact(customer_id)) AS customers,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND customer_country != ''
  AND order_date >= {from:DateTime} AND order_date < {to:DateTime}
GROUP BY country
ORDER BY sum(line_total) DESC, country;

-- customers-segment: Revenue by customer segment over the period
SELECT customer_segment AS segment,
       toString(uniqExact(customer_id)) AS customers,
       toString(uniqExact(order_id)) AS orders,
       toString(sum(line_total)) AS revenue
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND customer_segment != ''
  AND order_date >= {from:DateTime} AND order_date < {to:DateTime}
GROUP BY segment
ORDER BY sum(line_total) DESC, segment;

-- inventory-summary: Vehicles in stock now and the list value of the available ones
SELECT toString(countIf(stock_status = 'available')) AS available,
       toString(countIf(stock_status = 'reserved')) AS reserved,
       toString(countIf(stock_status = 'sold')) AS sold,
       toString(sumIf(list_price, stock_status = 'available')) AS available_value,
       toString(round(avgIf(dateDiff('second', created_at, {now:DateTime}), stock_status = 'available') / 86400, 1)) AS avg_days_in_stock,
       toString(round(avgIf(dateDiff('second', created_at, updated_at), stock_status = 'sold') / 86400, 1)) AS avg_days_to_sell
FROM drivetrain.vehicles FINAL
WHERE _deleted = 0;

-- inventory-make: Vehicles by make and stock status (top 15 makes by available stock)
SELECT make,
       toString(countIf(stock_status = 'available')) AS available,
       toString(countIf(stock_status = 'reserved')) AS reserved,
       toString(countIf(stock_status = 'sold')) AS sold,
       toString(sumIf(list_price, stock_status = 'available')) AS available_value
FROM drivetrain.vehicles FINAL
WHERE _deleted = 0
GROUP BY make
ORDER BY countIf(stock_status = 'available') DESC, make
LIMIT 15;

-- inventory-price-band: Available vehicles by list price band
SELECT multiIf(list_price < 15000, 'under 15k', list_price < 30000, '15k-30k', list_price < 50000, '30k-50k', list_price < 80000, '50k-80k', '80k and over') AS band,
       toString(count()) AS vehicles,
       toString(sum(list_price)) AS list_value
FROM drivetrain.vehicles FINAL
WHERE _deleted = 0 AND stock_status = 'available'
GROUP BY band
ORDER BY min(list_price);

-- inventory-age: Available vehicles by days in stock
SELECT multiIf(dateDiff('second', created_at, {now:DateTime}) < 7 * 86400, 'under a week', dateDiff('second', created_at, {now:DateTime}) < 30 * 86400, '1-4 weeks', dateDiff('second', created_at, {now:DateTime}) < 90 * 86400, '1-3 months', '3 months and over') AS age,
       toString(count()) AS vehicles,
       toString(sum(list_price)) AS list_value
FROM drivetrain.vehicles FINAL
WHERE _deleted = 0 AND stock_status = 'available'
GROUP BY age
ORDER BY min(dateDiff('second', created_at, {now:DateTime}));

-- tx-payment-status: Orders of the period by payment status
SELECT o_payment AS payment_status,
       toString(count()) AS orders,
       toString(sum(o_total)) AS total,
       toString(sum(o_paid)) AS paid
FROM
(
    SELECT order_id, any(payment_status) AS o_payment, any(order_total) AS o_total, any(order_paid) AS o_paid
    FROM drivetrain.sales_facts_current
    WHERE order_status != 'cancelled' AND order_date >= {from:DateTime} AND order_date < {to:DateTime}
    GROUP BY order_id
)
GROUP BY o_payment
ORDER BY o_payment;

-- tx-payments: Payments created in the period by status (refunds and rejections included)
SELECT status,
       toString(count()) AS payments,
       toString(sum(amount)) AS amount
FROM drivetrain.payments FINAL
WHERE _deleted = 0 AND created_at >= {from:DateTime} AND created_at < {to:DateTime}
GROUP BY status
ORDER BY status;

-- tx-refunds: The 15 latest refunded or rejected payments
SELECT toString(id) AS payment_id,
       toString(order_id) AS order_no,
       status,
       method,
       toString(amount) AS amount,
       toString(created_at) AS created
FROM drivetrain.payments FINAL
WHERE _deleted = 0 AND status IN ('refunded', 'rejected')
ORDER BY created_at DESC, id DESC
LIMIT 15;

-- tx-waiting-summary: Orders waiting for payment (not cancelled, not fully paid) and the amount due
SELECT toString(count()) AS orders,
       toString(countIf(o_payment = 'partial')) AS partly_paid,
       toString(sum(o_total - o_paid)) AS due
FROM
(
    SELECT order_id, any(payment_status) AS o_payment, any(order_total) AS o_total, any(order_paid) AS o_paid
    FROM drivetrain.sales_facts_current
    WHERE order_status != 'cancelled' AND payment_status != 'paid'
    GROUP BY order_id
);

-- tx-waiting: The 20 oldest orders waiting for payment (not cancelled, not fully paid)
SELECT toString(order_id) AS order_no,
       toString(any(order_date)) AS ordered_at,
       any(customer_name) AS customer,
       any(order_status) AS status,
       toString(any(order_total)) AS total,
       toString(any(order_paid)) AS paid,
       toString(any(order_total) - any(order_paid)) AS due
FROM drivetrain.sales_facts_current
WHERE order_status != 'cancelled' AND payment_status != 'paid'
GROUP BY order_id
ORDER BY min(order_date), order_id
LIMIT 20;

-- tx-search: Orders by id or customer email
SELECT toString(order_id) AS order_no,
       toString(any(order_date)) AS ordered_at,
       any(customer_name) AS customer,
       any(customer_email) AS email,
       arrayStringConcat(arraySort(groupArray(concat(make, ' ', model, if(quantity > 1, concat(' ×', toString(quantity)), '')))), ', ') AS vehicles,
       any(order_status) AS status,
       toString(any(order_total)) AS total,
       toString(any(order_paid)) AS paid,
       any(payment_status) AS payment
FROM drivetrain.sales_facts_current
WHERE order_id = {order_id:Int64} OR (customer_email = {email:String} AND {email:String} != '')
GROUP BY order_id
ORDER BY max(order_date) DESC, order_id DESC
LIMIT 50;

-- history-totals: Revenue, orders and vehicles in the period and in the period before it
SELECT toString(sumIf(line_total, in_period)) AS revenue,
       toString(uniqExactIf(order_id, in_period)) AS orders,
       toString(sumIf(quantity, in_period)) AS units,
       toString(sumIf(line_total, NOT in_period)) AS previous_revenue,
       toString(uniqExactIf(order_id, NOT in_period)) AS previous_orders,
       toString(sumIf(quantity, NOT in_period)) AS previous_units
FROM
(
    SELECT order_id, quantity, line_total, order_date >= {from:DateTime} AS in_period
    FROM drivetrain.sales_facts_current
    WHERE order_status != 'cancelled'
      AND order_date >= subtractSeconds({from:DateTime}, dateDiff('second', {from:DateTime}, {to:DateTime}))
      AND order_date < {to:DateTime}
);

-- history-series: Revenue per day, week or month of the period, beside the period before it shifted onto it
SELECT toString(multiIf({bucket:String} = 'month', toStartOfMonth(t), {bucket:String} = 'week', toMonday(t), toDate(t))) AS period,
       toString(sumIf(line_total, in_period)) AS revenue,
       toString(uniqExactIf(order_id, in_period)) AS orders,
       toString(sumIf(line_total, NOT in_period)) AS previous_revenue,
       toString(uniqExactIf(order_id, NOT in_period)) AS previous_orders
FROM
(
    SELECT order_id, line_total, order_date >= {from:DateTime} AS in_period,
           if(in_period, order_date, addSeconds(order_date, dateDiff('second', {from:DateTime}, {to:DateTime}))) AS t
    FROM drivetrain.sales_facts_current
    WHERE order_status != 'cancelled'
      AND order_date >= subtractSeconds({from:DateTime}, dateDiff('second', {from:DateTime}, {to:DateTime}))
      AND order_date < {to:DateTime}
)
GROUP BY period
ORDER BY period;

-- pipeline-freshness: The newest change in the facts and how old it is
SELECT toString(count()) AS facts,
       toString(max(updated_at)) AS newest_change,
       toString(if(count() = 0, 0, dateDiff('second', max(updated_at), {now:DateTime}))) AS age_seconds,
       toString(max(order_date)) AS newest_order
FROM drivetrain.sales_facts_current;
