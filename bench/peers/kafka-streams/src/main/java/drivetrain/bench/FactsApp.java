package drivetrain.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The Kafka Streams peer of drivetrain's benchmark (bench/README.md): the five
 * Debezium topics as KTables, order_total and order_paid as aggregates of
 * items and payments by order, the orders joined to their totals and (foreign
 * key) to their customer, the items joined (foreign key) to their order and
 * to their vehicle, and the facts, keyed by order item id, to an output topic
 * (a null value when an item's fact goes away). The columns and rules are
 * topology's (topology/doc.go): a fact waits for its order; a missing
 * customer or vehicle gives empty strings and zeros.
 *
 * <p>It stops once its consumer group has committed the end offsets of the
 * source topics listed at its start, nothing is left in its internal topics,
 * and the output topic has not grown for three checks; it then prints one
 * JSON line: records, facts, and the seconds from the JVM's start to the last
 * fact it produced.
 */
public final class FactsApp {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Set<String> MONEY = Set.of("list_price", "cost_price", "unit_price", "discount", "amount");
  static final Set<String> TIMES = Set.of("order_date", "updated_at");
  static final AtomicLong lastEmit = new AtomicLong();
  static final AtomicLong emitted = new AtomicLong();

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    String prefix = a.get("prefix"), out = a.get("output"), app = a.get("app-id");

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("brokers"));
    p.put(StreamsConfig.STATE_DIR_CONFIG, a.get("state-dir"));
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, a.getOrDefault("threads", "2"));
    // Let Kafka Streams merge repartition topics where it can.
    p.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    StreamsBuilder b = new StreamsBuilder();
    Serde<Long> key = Serdes.serdeFrom(new KeySerializer(), new KeyDeserializer());
    Serde<ObjectNode> row = Serdes.serdeFrom(new RowSerializer(), new RowDeserializer());
    KTable<Long, ObjectNode> customers = table(b, prefix, "customers", key, row);
    KTable<Long, ObjectNode> vehicles = table(b, prefix, "vehicles", key, row);
    KTable<Long, ObjectNode> orders = table(b, prefix, "orders", key, row);
    KTable<Long, ObjectNode> items = table(b, prefix, "order_items", key, row);
    KTable<Long, ObjectNode> payments = table(b, prefix, "payments", key, row);

    KTable<Long, Long> totals = items
        .groupBy((id, it) -> KeyValue.pair(it.get("order_id").asLong(), it), Grouped.with(Serdes.Long(), row))
        .aggregate(() -> 0L, (k, it, s) -> s + line(it), (k, it, s) -> s - line(it),
            Materialized.with(Serdes.Long(), Serdes.Long()));
    KTable<Long, Long> paid = payments
        .groupBy((id, pay) -> KeyValue.pair(pay.get("order_id").asLong(), pay), Grouped.with(Serdes.Long(), row))
        .aggregate(() -> 0L, (k, pay, s) -> s + approved(pay), (k, pay, s) -> s - approved(pay),
            Materialized.with(Serdes.Long(), Serdes.Long()));

    KTable<Long, ObjectNode> fullOrders = orders
        .leftJoin(totals, (o, t) -> o.deepCopy().put("order_total", t == null ? 0 : t), mat(row))
        .leftJoin(paid, (o, s) -> o.deepCopy().put("order_paid", s == null ? 0 : s), mat(row))
        .leftJoin(customers, o -> o.get("customer_id").asLong(), FactsApp::withCustomer, mat(row));
    KTable<Long, ObjectNode> facts = items
        .join(fullOrders, it -> it.get("order_id").asLong(), FactsApp::fact, mat(row))
        .leftJoin(vehicles, f -> f.get("vehicle_id").asLong(), FactsApp::withVehicle, mat(row));
    facts.toStream()
        .peek((k, v) -> { lastEmit.set(System.currentTimeMillis()); emitted.incrementAndGet(); })
        .to(out, Produced.with(Serdes.Long(), row));

    List<String> sources = List.of("customers", "vehicles", "orders", "order_items", "payments").stream()
        .map(t -> prefix + ".public." + t).collect(Collectors.toList());
    Properties ap = new Properties();
    ap.put("bootstrap.servers", a.get("brokers"));
    try (Admin admin = Admin.create(ap)) {
      Map<TopicPartition, Long> sourceEnds = ends(admin, sources);
      long records = sourceEnds.values().stream().mapToLong(Long::longValue).sum();
      KafkaStreams streams = new KafkaStreams(b.build(p), p);
      streams.setUncaughtExceptionHandler(e -> {
        e.printStackTrace();
        System.exit(2);
        return null;
      });
      streams.start();
      waitDone(admin, app, out, sourceEnds);
      // Leave the group at once, so that the suite can delete it.
      streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
      streams.cleanUp();
      long start = ManagementFactory.getRuntimeMXBean().getStartTime();
      System.out.printf("{\"records\": %d, \"facts\": %d, \"seconds\": %.3f}%n",
          records, emitted.get(), (lastEmit.get() - start) / 1000.0);
    }
  }

  /**
   * A source topic as a table keyed by row id. Debezium routes the order
   * stream by order id with Java's Long.hashCode (PartitionRouting), which is
   * not Kafka Streams' partitioner: joined as they are, the tables would not
   * be co-partitioned with the repartition and subscription topics. So each
   * topic goes through a repartition topic of its own first, keyed by the id
   * as a Long.
   */
  static KTable<Long, ObjectNode> table(StreamsBuilder b, String prefix, String t, Serde<Long> key, Serde<ObjectNode> row) {
    return b.stream(prefix + ".public." + t, Consumed.with(key, row))
        .repartition(Repartitioned.<Long, ObjectNode>as(t).withKeySerde(Serdes.Long()).withValueSerde(row))
        .toTable(Materialized.<Long, ObjectNode, KeyValueStore<Bytes, byte[]>>as(t).withKeySerde(Serdes.Long()).withValueSerde(row));
  }

  static Materialized<Long, ObjectNode, KeyValueStore<Bytes, byte[]>> mat(Serde<ObjectNode> row) {
    return Materialized.<Long, ObjectNode, KeyValueStore<Bytes, byte[]>>with(Serdes.Long(), row);
  }

  static long line(JsonNode it) {
    return it.get("quantity").asLong() * it.get("unit_price").asLong() - it.get("discount").asLong();
  }

  static long approved(JsonNode pay) {
    return "approved".equals(pay.get("status").asText()) ? pay.get("amount").asLong() : 0;
  }

  static String text(JsonNode n, String f) {
    JsonNode v = n == null ? null : n.get(f);
    return v == null || v.isNull() ? "" : v.asText();
  }

  static ObjectNode withCustomer(ObjectNode o, ObjectNode c) {
    ObjectNode r = o.deepCopy();
    r.put("customer_name", c == null ? "" : text(c, "first_name") + " " + text(c, "last_name"));
    r.put("customer_email", text(c, "email"));
    r.put("customer_city", text(c, "city"));
    r.put("customer_region", text(c, "region"));
    r.put("customer_country", text(c, "country"));
    r.put("customer_segment", text(c, "segment"));
    return r;
  }

  static ObjectNode fact(ObjectNode it, ObjectNode o) {
    ObjectNode f = JSON.createObjectNode();
    long total = o.get("order_total").asLong(), paid = o.get("order_paid").asLong();
    f.put("order_item_id", it.get("id").asLong());
    f.put("order_id", o.get("id").asLong());
    f.put("order_date", o.get("order_date").asLong());
    f.put("order_status", text(o, "status"));
    f.put("channel", text(o, "channel"));
    f.put("currency", text(o, "currency"));
    f.put("customer_id", o.get("customer_id").asLong());
    for (String c : List.of("customer_name", "customer_email", "customer_city", "customer_region", "customer_country", "customer_segment")) {
      f.put(c, text(o, c));
    }
    f.put("vehicle_id", it.get("vehicle_id").asLong());
    f.put("quantity", it.get("quantity").asLong());
    f.put("unit_price", it.get("unit_price").asLong());
    f.put("discount", it.get("discount").asLong());
    f.put("line_total", line(it));
    f.put("order_total", total);
    f.put("order_paid", paid);
    f.put("payment_status", paid == 0 ? "unpaid" : paid < total ? "partial" : "paid");
    f.put("updated_at", o.get("updated_at").asLong());
    return f;
  }

  static ObjectNode withVehicle(ObjectNode f, ObjectNode v) {
    ObjectNode r = f.deepCopy();
    for (String c : List.of("vin", "make", "model", "body_type", "fuel_type", "condition")) r.put(c, text(v, c));
    r.put("model_year", v == null ? 0 : v.get("model_year").asLong());
    r.put("list_price", v == null ? 0 : v.get("list_price").asLong());
    return r;
  }

  static Map<TopicPartition, Long> ends(Admin admin, List<String> topics) throws Exception {
    Map<TopicPartition, OffsetSpec> req = new HashMap<>();
    admin.describeTopics(topics).allTopicNames().get().forEach((t, d) ->
        d.partitions().forEach(pi -> req.put(new TopicPartition(t, pi.partition()), OffsetSpec.latest())));
    Map<TopicPartition, Long> out = new HashMap<>();
    admin.listOffsets(req).all().get().forEach((tp, r) -> out.put(tp, r.offset()));
    return out;
  }

  /** Waits until the group has consumed everything and the output is quiet. */
  static void waitDone(Admin admin, String app, String out, Map<TopicPartition, Long> sourceEnds) throws Exception {
    long prevOut = -1;
    int quiet = 0;
    while (quiet < 3) {
      Thread.sleep(500);
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(app).partitionsToOffsetAndMetadata().get();
      boolean done = sourceEnds.entrySet().stream().allMatch(e -> e.getValue() == 0
          || (committed.get(e.getKey()) != null && committed.get(e.getKey()).offset() >= e.getValue()));
      List<String> internal = admin.listTopics().names().get().stream()
          .filter(t -> t.startsWith(app + "-") && !t.endsWith("-changelog")).collect(Collectors.toList());
      if (done && !internal.isEmpty()) {
        for (Map.Entry<TopicPartition, Long> e : ends(admin, internal).entrySet()) {
          OffsetAndMetadata c = committed.get(e.getKey());
          if (e.getValue() > 0 && (c == null || c.offset() < e.getValue())) done = false;
        }
      }
      long outEnd = ends(admin, List.of(out)).values().stream().mapToLong(Long::longValue).sum();
      quiet = done && outEnd == prevOut ? quiet + 1 : 0;
      prevOut = outEnd;
    }
  }

  /** Debezium's record key ({"id":N}, with or without its schema) as the row id. */
  public static final class KeyDeserializer implements Deserializer<Long> {
    @Override
    public Long deserialize(String topic, byte[] data) {
      if (data == null) return null;
      try {
        JsonNode n = JSON.readTree(data);
        if (n.has("payload")) n = n.get("payload");
        return n.get("id").asLong();
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("bad key in " + topic, e);
      }
    }
  }

  /** Writes a row id as Debezium's key would be ({"id":N}). */
  public static final class KeySerializer implements Serializer<Long> {
    @Override
    public byte[] serialize(String topic, Long id) {
      return id == null ? null : ("{\"id\":" + id + "}").getBytes(StandardCharsets.UTF_8);
    }
  }

  /**
   * Reads a Debezium change (with or without its schema) as the row it leaves
   * (null for a delete or a tombstone), with money in cents and timestamps in
   * Unix seconds; reads the rows this class writes back as they are.
   */
  public static final class RowDeserializer implements Deserializer<ObjectNode> {
    @Override
    public ObjectNode deserialize(String topic, byte[] data) {
      if (data == null) return null;
      try {
        JsonNode n = JSON.readTree(data);
        if (n.has("payload") && n.has("schema")) n = n.get("payload");
        if (n == null || n.isNull()) return null;
        if (!n.has("op")) return (ObjectNode) n; // a row of ours
        if ("d".equals(n.get("op").asText())) return null;
        ObjectNode r = (ObjectNode) n.get("after");
        for (String f : MONEY) {
          JsonNode v = r.get(f);
          if (v != null && v.isTextual()) r.put(f, new BigInteger(Base64.getDecoder().decode(v.asText())).longValue());
        }
        for (String f : TIMES) {
          JsonNode v = r.get(f);
          if (v != null && v.isTextual()) r.put(f, OffsetDateTime.parse(v.asText()).toEpochSecond());
        }
        return r;
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("bad value in " + topic, e);
      }
    }
  }

  /** Writes rows and facts as JSON. */
  public static final class RowSerializer implements Serializer<ObjectNode> {
    @Override
    public byte[] serialize(String topic, ObjectNode n) {
      if (n == null) return null;
      try {
        return JSON.writeValueAsBytes(n);
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException(e);
      }
    }
  }
}
