"""The Glue Data Catalog API with Debian's boto3 and the AWS CLI: databases, tables as a crawler
describes them, partitions, crawlers (StartCrawler really crawls) and their error codes.

The data: JSON files placed in the local object store's directory (data/objects/BUCKET/KEY), which a
full crawl started with StartCrawler finds like any other object."""
import json
import os
import unittest

from botocore.exceptions import ClientError

from harness import Daemon, error_code, wait_for

PIPELINE = """
buckets: [lake]
schedules:
  nightly-crawl:
    expression: cron(00 03 * * ? *)
    catch_up: none
    targets: [processed]
crawlers:
  processed:
    database: my_glue_database
    targets: [s3://lake/processed/]
    on_change: false
query:
  database: my_glue_database
  output_location: s3://lake/athena/results/
"""

USERS = [{"id": i, "name": name, "address": {"city": city}}
         for i, (name, city) in enumerate([("Leanne", "Gwenborough"), ("Ervin", "Wisokyburgh"),
                                           ("Clementine", "McKenziehaven")], start=1)]


def place(sluice, key, text):
    """Writes lake/KEY into the daemon's local object store."""
    path = os.path.join(sluice.dir, "data", "objects", "lake", key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def crawl(glue, name="processed"):
    """Starts a crawl with StartCrawler and waits until it has ended; returns the crawler."""
    glue.start_crawler(Name=name)

    def done():
        crawler = glue.get_crawler(Name=name)["Crawler"]
        return crawler if crawler["State"] == "READY" and "LastCrawl" in crawler else None
    return wait_for(done, timeout=60, what="the crawl of " + name)


def start_with_data():
    """A daemon whose catalog has users (JSON Lines) and events (partitioned by dt), crawled."""
    sluice = Daemon(PIPELINE).__enter__()
    try:
        place(sluice, "processed/users/users.jsonl", "".join(json.dumps(u) + "\n" for u in USERS))
        for day, n in (("2026-11-24", 1), ("2026-11-25", 2), ("2026-11-26", 3)):
            place(sluice, "processed/events/dt=%s/part.json" % day, json.dumps({"n": n, "kind": "k%d" % n}) + "\n")
        crawler = crawl(sluice.client("glue"))
        if crawler["LastCrawl"]["Status"] != "SUCCEEDED":
            raise AssertionError("the first crawl did not succeed: %s" % crawler)
        return sluice
    except Exception:
        sluice.__exit__(None, None, None)
        raise


class GlueClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = start_with_data()
        cls.glue = cls.sluice.client("glue")

    @classmethod
    def tearDownClass(cls):
        cls.sluice.__exit__(None, None, None)

    def assert_code(self, code, call, **kwargs):
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        self.assertEqual(error_code(caught.exception), code)
        return caught.exception

    def test_databases(self):
        names = [d["Name"] for d in self.glue.get_databases()["DatabaseList"]]
        self.assertIn("my_glue_database", names)
        self.assertEqual(self.glue.get_database(Name="my_glue_database")["Database"]["Name"], "my_glue_database")
        self.assert_code("EntityNotFoundException", self.glue.get_database, Name="no_such_db")
        self.glue.create_database(DatabaseInput={"Name": "scratch_db"})
        self.assert_code("AlreadyExistsException", self.glue.create_database, DatabaseInput={"Name": "scratch_db"})
        self.assertIn("scratch_db", [d["Name"] for d in self.glue.get_databases()["DatabaseList"]])
        self.assert_code("InvalidInputException", self.glue.create_database, DatabaseInput={"Name": "bad name!"})

    def test_tables_as_a_crawler_describes_them(self):
        tables = {t["Name"]: t for t in self.glue.get_tables(DatabaseName="my_glue_database")["TableList"]}
        self.assertLessEqual({"events", "users"}, set(tables))
        users = self.glue.get_table(DatabaseName="my_glue_database", Name="users")["Table"]
        sd = users["StorageDescriptor"]
        self.assertEqual(sd["Location"], "s3://lake/processed/users/")
        self.assertEqual(sd["SerdeInfo"]["SerializationLibrary"], "org.openx.data.jsonserde.JsonSerDe")
        self.assertEqual(sd["InputFormat"], "org.apache.hadoop.mapred.TextInputFormat")
        self.assertEqual(sd["OutputFormat"], "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat")
        self.assertEqual([(c["Name"], c["Type"]) for c in sd["Columns"]],
                         [("id", "int"), ("name", "string"), ("address", "struct<city:string>")])
        self.assertEqual(users["Parameters"]["classification"], "json")
        self.assertEqual(users["PartitionKeys"], [])
        self.assertEqual(users["UpdateTime"].year >= 2024, True)  # a datetime, parsed by botocore
        self.assertEqual(tables["events"]["PartitionKeys"], [{"Name": "dt", "Type": "string"}])
        only = self.glue.get_tables(DatabaseName="my_glue_database", Expression="us*")["TableList"]
        self.assertEqual([t["Name"] for t in only], ["users"])
        pages = self.glue.get_paginator("get_tables").paginate(DatabaseName="my_glue_database",
                                                               PaginationConfig={"PageSize": 1})
        self.assertEqual([t["Name"] for page in pages for t in page["TableList"]], sorted(tables))
        self.assert_code("EntityNotFoundException", self.glue.get_table, DatabaseName="my_glue_database", Name="nope")
        self.assert_code("EntityNotFoundException", self.glue.get_tables, DatabaseName="nope")

    def test_partitions(self):
        parts = self.glue.get_partitions(DatabaseName="my_glue_database", TableName="events")["Partitions"]
        self.assertEqual([p["Values"] for p in parts], [["2026-11-24"], ["2026-11-25"], ["2026-11-26"]])
        self.assertEqual(parts[0]["StorageDescriptor"]["Location"], "s3://lake/processed/events/dt=2026-11-24/")
        later = self.glue.get_partitions(DatabaseName="my_glue_database", TableName="events",
                                         Expression="dt > '2026-11-24'")["Partitions"]
        self.assertEqual([p["Values"] for p in later], [["2026-11-25"], ["2026-11-26"]])
        pages = self.glue.get_paginator("get_partitions").paginate(
            DatabaseName="my_glue_database", TableName="events", PaginationConfig={"PageSize": 2})
        self.assertEqual(len([p for page in pages for p in page["Partitions"]]), 3)
        self.assert_code("InvalidInputException", self.glue.get_partitions, DatabaseName="my_glue_database",
                         TableName="events", Expression="nokey = 'x'")
        self.assert_code("EntityNotFoundException", self.glue.get_partitions, DatabaseName="my_glue_database",
                         TableName="nope")

    def test_crawlers_and_a_crawl_that_finds_new_data(self):
        crawler = self.glue.get_crawler(Name="processed")["Crawler"]
        self.assertEqual(crawler["DatabaseName"], "my_glue_database")
        self.assertEqual(crawler["Targets"]["S3Targets"][0]["Path"], "s3://lake/processed/")
        self.assertEqual(crawler["Schedule"]["ScheduleExpression"], "cron(00 03 * * ? *)")
        self.assertEqual(crawler["LastCrawl"]["Status"], "SUCCEEDED")
        self.assertEqual([c["Name"] for c in self.glue.get_crawlers()["Crawlers"]], ["processed"])
        metrics = self.glue.get_crawler_metrics(CrawlerNameList=["processed"])["CrawlerMetricsList"]
        self.assertEqual(metrics[0]["CrawlerName"], "processed")
        self.assertGreaterEqual(metrics[0]["TablesCreated"], 2)
        self.assert_code("EntityNotFoundException", self.glue.get_crawler, Name="nope")
        self.assert_code("EntityNotFoundException", self.glue.start_crawler, Name="nope")

        place(self.sluice, "processed/orders/orders.json", json.dumps({"order": 1}) + "\n")
        crawl(self.glue)
        names = [t["Name"] for t in self.glue.get_tables(DatabaseName="my_glue_database")["TableList"]]
        self.assertIn("orders", names)

    def test_aws_cli_get_tables(self):
        out = self.sluice.aws_json("glue", "get-tables", "--database-name", "my_glue_database")
        self.assertIn("users", [t["Name"] for t in out["TableList"]])
        failed = self.sluice.aws("glue", "get-tables", "--database-name", "nope", check=False)
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn("EntityNotFoundException", failed.stderr)


if __name__ == "__main__":
    unittest.main()
