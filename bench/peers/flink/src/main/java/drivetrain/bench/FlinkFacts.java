package drivetrain.bench;

import java.lang.management.ManagementFactory;
import java.math.BigInteger;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * The Flink SQL peer of drivetrain's benchmark (bench/README.md): the Table
 * API in a local mini-cluster. The five Debezium topics are debezium-json
 * sources read from the earliest offsets up to the latest ones at the start
 * (bounded, so the job ends when it has read them), order_total and
 * order_paid are GROUP BY aggregates, and the facts are the same left joins
 * as topology's rules (topology/doc.go: a fact waits for its order; a missing
 * customer or vehicle gives empty strings and zeros), written to an
 * upsert-kafka topic keyed by order_item_id. Money is read as the bytes of
 * Debezium's precise decimals and turned into cents by a scalar function.
 *
 * <p>It prints one JSON line at the end: the records it was told the topics
 * hold, and the seconds from the JVM's start to the end of the job.
 */
public final class FlinkFacts {
  /** A Connect Decimal (big-endian two's complement, scale 2) in cents. */
  public static class Cents extends ScalarFunction {
    public Long eval(byte[] b) {
      return b == null ? null : new BigInteger(b).longValue();
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    String prefix = a.get("prefix"), brokers = a.get("brokers");

    TableEnvironment env = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
    var conf = env.getConfig();
    conf.set("parallelism.default", a.getOrDefault("parallelism", "2"));
    conf.set("table.local-time-zone", "UTC");
    // Mini-batch aggregation, as Flink's performance tuning guide
    // recommends for aggregates over changelogs.
    conf.set("table.exec.mini-batch.enabled", "true");
    conf.set("table.exec.mini-batch.allow-latency", "1 s");
    conf.set("table.exec.mini-batch.size", "5000");
    env.createTemporarySystemFunction("cents", Cents.class);

    String with = "WITH ('connector' = 'kafka', 'topic' = '%s', 'properties.bootstrap.servers' = '" + brokers + "',"
        + " 'properties.group.id' = '" + a.get("group") + "',"
        + " 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',"
        + " 'value.format' = 'debezium-json', 'value.debezium-json.ignore-parse-errors' = 'false')";
    String t = prefix + ".public.";
    env.executeSql("CREATE TABLE customers (id BIGINT, first_name STRING, last_name STRING, email STRING, city STRING,"
        + " region STRING, country STRING, segment STRING, PRIMARY KEY (id) NOT ENFORCED) " + String.format(with, t + "customers"));
    env.executeSql("CREATE TABLE vehicles (id BIGINT, vin STRING, make STRING, model STRING, model_year SMALLINT,"
        + " body_type STRING, fuel_type STRING, `condition` STRING, list_price BYTES, PRIMARY KEY (id) NOT ENFORCED) "
        + String.format(with, t + "vehicles"));
    env.executeSql("CREATE TABLE orders (id BIGINT, customer_id BIGINT, status STRING, channel STRING, currency STRING,"
        + " order_date STRING, updated_at STRING, PRIMARY KEY (id) NOT ENFORCED) " + String.format(with, t + "orders"));
    env.executeSql("CREATE TABLE order_items (id BIGINT, order_id BIGINT, vehicle_id BIGINT, quantity INT,"
        + " unit_price BYTES, discount BYTES, PRIMARY KEY (id) NOT ENFORCED) " + String.format(with, t + "order_items"));
    env.executeSql("CREATE TABLE payments (id BIGINT, order_id BIGINT, amount BYTES, status STRING,"
        + " PRIMARY KEY (id) NOT ENFORCED) " + String.format(with, t + "payments"));
    env.executeSql("CREATE TABLE facts (order_item_id BIGINT, order_id BIGINT, order_date BIGINT, order_status STRING,"
        + " channel STRING, currency STRING, customer_id BIGINT, customer_name STRING, customer_email STRING,"
        + " customer_city STRING, customer_region STRING, customer_country STRING, customer_segment STRING,"
        + " vehicle_id BIGINT, vin STRING, make STRING, model STRING, model_year SMALLINT, body_type STRING,"
        + " fuel_type STRING, `condition` STRING, list_price BIGINT, quantity INT, unit_price BIGINT, discount BIGINT,"
        + " line_total BIGINT, order_total BIGINT, order_paid BIGINT, payment_status STRING, updated_at BIGINT,"
        + " PRIMARY KEY (order_item_id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = '" + a.get("output") + "',"
        + " 'properties.bootstrap.servers' = '" + brokers + "', 'key.format' = 'json', 'value.format' = 'json')");

    env.executeSql("CREATE VIEW totals AS SELECT order_id, SUM(CAST(quantity AS BIGINT) * cents(unit_price) - cents(discount))"
        + " AS order_total FROM order_items GROUP BY order_id");
    env.executeSql("CREATE VIEW paid AS SELECT order_id,"
        + " SUM(CASE WHEN status = 'approved' THEN cents(amount) ELSE CAST(0 AS BIGINT) END) AS order_paid"
        + " FROM payments GROUP BY order_id");
    String ts = "UNIX_TIMESTAMP(SUBSTRING(%s FROM 1 FOR 19), 'yyyy-MM-dd''T''HH:mm:ss')";
    TableResult r = env.executeSql("INSERT INTO facts SELECT"
        + " i.id, o.id, " + String.format(ts, "o.order_date") + ", o.status, o.channel, o.currency, o.customer_id,"
        + " COALESCE(c.first_name || ' ' || c.last_name, ''), COALESCE(c.email, ''), COALESCE(c.city, ''),"
        + " COALESCE(c.region, ''), COALESCE(c.country, ''), COALESCE(c.segment, ''),"
        + " i.vehicle_id, COALESCE(v.vin, ''), COALESCE(v.make, ''), COALESCE(v.model, ''),"
        + " COALESCE(v.model_year, CAST(0 AS SMALLINT)), COALESCE(v.body_type, ''), COALESCE(v.fuel_type, ''),"
        + " COALESCE(v.`condition`, ''), COALESCE(cents(v.list_price), CAST(0 AS BIGINT)),"
        + " i.quantity, cents(i.unit_price), cents(i.discount),"
        + " CAST(i.quantity AS BIGINT) * cents(i.unit_price) - cents(i.discount),"
        + " COALESCE(t.order_total, CAST(0 AS BIGINT)), COALESCE(p.order_paid, CAST(0 AS BIGINT)),"
        + " CASE WHEN COALESCE(p.order_paid, 0) = 0 THEN 'unpaid'"
        + "      WHEN COALESCE(p.order_paid, 0) < COALESCE(t.order_total, 0) THEN 'partial' ELSE 'paid' END,"
        + " " + String.format(ts, "o.updated_at")
        + " FROM order_items i JOIN orders o ON i.order_id = o.id"
        + " LEFT JOIN customers c ON o.customer_id = c.id"
        + " LEFT JOIN vehicles v ON i.vehicle_id = v.id"
        + " LEFT JOIN totals t ON t.order_id = o.id"
        + " LEFT JOIN paid p ON p.order_id = o.id");
    r.await();
    long start = ManagementFactory.getRuntimeMXBean().getStartTime();
    System.out.printf("{\"records\": %s, \"facts\": 0, \"seconds\": %.3f}%n",
        a.getOrDefault("records", "0"), (System.currentTimeMillis() - start) / 1000.0);
    System.exit(0);
  }
}
