"""The Python peer of the drivetrain benchmark (bench/README.md).

The design a Python team would write first: one process, a confluent-kafka
consumer that reads the five Debezium topics from the earliest offsets, the
tables held in dictionaries with the indexes the joins need (orders by
customer, items by vehicle, items and payments by order), and sales_facts
written to ClickHouse with clickhouse-connect in batches. After each poll of
up to --poll records it rebuilds the facts of every order the poll touched
(a customer or vehicle change touches the orders that reference it), so the
work per record is that of the orders it changes, as in drivetrain. Facts
follow topology's rules (topology/doc.go): one per live item of a live
order; a missing or deleted customer or vehicle gives empty strings and
zeros; order_total sums the live items' line totals, order_paid the
approved payments. A removed item, or the items of a deleted order, get a
row with _deleted = 1.

It stops once it has read up to the end offsets it listed at its start and
ClickHouse acknowledged every batch, then prints one JSON line: records
read, facts written, and the seconds from its start to the last
acknowledged insert.
"""

import time

START = time.monotonic()  # before the imports: they are part of its start

import argparse
import base64
import datetime
import json
import sys
from decimal import Decimal

import clickhouse_connect
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

TABLES = ("customers", "vehicles", "orders", "order_items", "payments")
# The sales_facts columns in the order of the rows built below (docs/design.md,
# Outputs; topology.FactColumns).
COLUMNS = (
    "order_item_id", "order_id", "order_date", "order_status", "channel", "currency",
    "customer_id", "customer_name", "customer_email", "customer_city",
    "customer_region", "customer_country", "customer_segment",
    "vehicle_id", "vin", "make", "model", "model_year", "body_type", "fuel_type", "condition", "list_price",
    "quantity", "unit_price", "discount", "line_total",
    "order_total", "order_paid", "payment_status",
    "updated_at", "_version", "_deleted",
)
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def cents(v):
    """A Connect Decimal of scale 2 (decimal.handling.mode=precise) in cents."""
    if v is None:
        return 0
    if isinstance(v, (int, float)):
        return round(v * 100)
    return int.from_bytes(base64.b64decode(v), "big", signed=True)


def seconds(v):
    """A ZonedTimestamp ("2024-01-01T00:00:00.000000Z") in Unix seconds."""
    if v is None:
        return 0
    if isinstance(v, int):
        return v // 1_000_000
    return int(datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp())


def money(c):
    return Decimal(c).scaleb(-2)


class Peer:
    def __init__(self):
        self.customers = {}  # id -> (name, email, city, region, country, segment)
        self.vehicles = {}  # id -> (vin, make, model, model_year, body_type, fuel_type, condition, list_price)
        self.orders = {}  # id -> (customer_id, status, channel, currency, order_date, updated_at)
        self.items = {}  # id -> (order_id, vehicle_id, quantity, unit_price, discount)
        self.payments = {}  # id -> (order_id, amount, status)
        self.items_of_order = {}
        self.payments_of_order = {}
        self.orders_of_customer = {}
        self.items_of_vehicle = {}
        self.order_dates = {}  # last order_date of every order seen, for deletes
        self.dirty = set()  # orders whose facts must be built again
        self.removed = set()  # (order_id, item_id) of items that left an order
        self.version = int(time.time() * 1e9)

    def apply(self, table, op, before, after):
        if table == "customers":
            row = after if op != "d" else before
            cid = row["id"]
            if op == "d":
                self.customers.pop(cid, None)
            else:
                self.customers[cid] = (
                    row["first_name"] + " " + row["last_name"], row["email"], row["city"],
                    row.get("region") or "", row["country"], row["segment"])
            self.dirty.update(self.orders_of_customer.get(cid, ()))
        elif table == "vehicles":
            row = after if op != "d" else before
            vid = row["id"]
            if op == "d":
                self.vehicles.pop(vid, None)
            else:
                self.vehicles[vid] = (
                    row["vin"], row["make"], row["model"], row["model_year"], row["body_type"],
                    row["fuel_type"], row["condition"], cents(row["list_price"]))
            for iid in self.items_of_vehicle.get(vid, ()):
                it = self.items.get(iid)
                if it:
                    self.dirty.add(it[0])
        elif table == "orders":
            row = after if op != "d" else before
            oid = row["id"]
            old = self.orders.get(oid)
            if old:
                s = self.orders_of_customer.get(old[0])
                if s:
                    s.discard(oid)
            if op == "d":
                self.orders.pop(oid, None)
                for iid in self.items_of_order.get(oid, ()):
                    self.removed.add((oid, iid))
            else:
                date = seconds(row["order_date"])
                self.orders[oid] = (row["customer_id"], row["status"], row["channel"], row["currency"],
                                    date, seconds(row["updated_at"]))
                self.order_dates[oid] = date
                self.orders_of_customer.setdefault(row["customer_id"], set()).add(oid)
            self.dirty.add(oid)
        elif table == "order_items":
            row = after if op != "d" else before
            iid = row["id"]
            old = self.items.get(iid)
            if old:
                self.items_of_order.get(old[0], set()).discard(iid)
                self.items_of_vehicle.get(old[1], set()).discard(iid)
                self.dirty.add(old[0])
                if op == "d" or old[0] != row["order_id"]:
                    self.removed.add((old[0], iid))
            if op == "d":
                self.items.pop(iid, None)
                self.removed.add((row["order_id"], iid))
            else:
                oid = row["order_id"]
                self.items[iid] = (oid, row["vehicle_id"], row["quantity"], cents(row["unit_price"]),
                                   cents(row["discount"]))
                self.items_of_order.setdefault(oid, set()).add(iid)
                self.items_of_vehicle.setdefault(row["vehicle_id"], set()).add(iid)
                self.dirty.add(oid)
        elif table == "payments":
            row = after if op != "d" else before
            pid = row["id"]
            old = self.payments.get(pid)
            if old:
                self.payments_of_order.get(old[0], set()).discard(pid)
                self.dirty.add(old[0])
            if op == "d":
                self.payments.pop(pid, None)
            else:
                oid = row["order_id"]
                self.payments[pid] = (oid, cents(row["amount"]), row["status"])
                self.payments_of_order.setdefault(oid, set()).add(pid)
                self.dirty.add(oid)

    def facts(self):
        """Builds the facts of the dirty orders and the removed items."""
        out = []
        empty_c = ("", "", "", "", "", "")
        empty_v = ("", "", "", 0, "", "", "", 0)
        for oid in self.dirty:
            o = self.orders.get(oid)
            if o is None:
                continue
            lines = []
            total = 0
            for iid in self.items_of_order.get(oid, ()):
                it = self.items[iid]
                line = it[2] * it[3] - it[4]
                total += line
                lines.append((iid, it, line))
            paid = 0
            for pid in self.payments_of_order.get(oid, ()):
                p = self.payments[pid]
                if p[2] == "approved":
                    paid += p[1]
            status = "unpaid" if paid == 0 else ("partial" if paid < total else "paid")
            c = self.customers.get(o[0], empty_c)
            date = datetime.datetime.fromtimestamp(o[4], datetime.timezone.utc).replace(tzinfo=None)
            upd = datetime.datetime.fromtimestamp(o[5], datetime.timezone.utc).replace(tzinfo=None)
            for iid, it, line in lines:
                v = self.vehicles.get(it[1], empty_v)
                self.version += 1
                out.append([
                    iid, oid, date, o[1], o[2], o[3],
                    o[0], c[0], c[1], c[2], c[3], c[4], c[5],
                    it[1], v[0], v[1], v[2], v[3], v[4], v[5], v[6], money(v[7]),
                    it[2], money(it[3]), money(it[4]), money(line),
                    money(total), money(paid), status,
                    upd, self.version, 0])
        for oid, iid in self.removed:
            it = self.items.get(iid)
            if it is not None and it[0] == oid and oid in self.orders:
                continue  # still live there
            if oid not in self.order_dates:
                continue  # never had an order: no fact was written
            date = datetime.datetime.fromtimestamp(self.order_dates[oid], datetime.timezone.utc).replace(tzinfo=None)
            self.version += 1
            out.append([iid, oid, date, "", "", "", 0, "", "", "", "", "", "", 0, "", "", "", 0, "", "", "",
                        money(0), 0, money(0), money(0), money(0), money(0), money(0), "", date, self.version, 1])
        self.dirty.clear()
        self.removed.clear()
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--clickhouse-host", default="127.0.0.1")
    ap.add_argument("--clickhouse-port", type=int, default=8123)
    ap.add_argument("--database", required=True)
    ap.add_argument("--poll", type=int, default=10_000, help="records per poll")
    ap.add_argument("--batch", type=int, default=50_000, help="facts per insert")
    args = ap.parse_args()

    ch = clickhouse_connect.get_client(host=args.clickhouse_host, port=args.clickhouse_port, compress=False)
    cols = ch.query(
        "SELECT name, type FROM system.columns WHERE database = %(db)s AND table = 'sales_facts'",
        parameters={"db": args.database}).result_rows
    type_of = dict(cols)
    names = list(COLUMNS)
    types = [type_of[c] for c in names]

    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.database,
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "fetch.max.bytes": 52428800,
        "queued.max.messages.kbytes": 262144,
    })
    topics = {args.prefix + ".public." + t: t for t in TABLES}
    meta = consumer.list_topics(timeout=30)
    parts, ends = [], {}
    for topic in topics:
        for p in meta.topics[topic].partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            if high > 0:
                ends[(topic, p)] = high
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
    consumer.assign(parts)

    peer = Peer()
    pending, records, facts = [], 0, 0

    def flush():
        nonlocal pending, facts
        if pending:
            ch.insert(args.database + ".sales_facts", pending, column_names=names, column_type_names=types)
            facts += len(pending)
            pending = []

    while ends:
        msgs = consumer.consume(num_messages=args.poll, timeout=1.0)
        for m in msgs:
            if m.error():
                raise RuntimeError(str(m.error()))
            key = (m.topic(), m.partition())
            if m.offset() + 1 >= ends.get(key, 0):
                ends.pop(key, None)
            records += 1
            v = m.value()
            if v is None:
                continue  # tombstone: the op=d record before it said everything
            env = json.loads(v)
            if "payload" in env and "schema" in env:
                env = env["payload"]
            if env is None:
                continue
            peer.apply(topics[m.topic()], env["op"], env.get("before"), env.get("after"))
        pending.extend(peer.facts())
        if len(pending) >= args.batch:
            flush()
    flush()
    consumer.close()
    print(json.dumps({"records": records, "facts": facts, "seconds": time.monotonic() - START}))


if __name__ == "__main__":
    sys.exit(main())
