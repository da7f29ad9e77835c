"""The original near-real-time flow through the AWS APIs only: random users put with boto3's Kinesis
client (the original Lambda's exact call) -> a delivery -> processing -> the crawler -> boto3's Athena
client returns each of them exactly once."""
import json
import random
import time
import unittest

from harness import Daemon, wait_for

PIPELINE = """
buckets: [sluice-demo]
streams:
  GETrandomUserAPI: {shards: 2}
deliveries:
  random-users-to-s3:
    stream: GETrandomUserAPI
    to: s3://sluice-demo/raw/random_users/
    buffer: {size: 1MiB, interval: 1s}
processors:
  random-users-flatten:
    input: {bucket: sluice-demo, prefix: raw/random_users/}
    steps:
      - flatten: {separator: "_"}
    output: {key: "processed/random_users/{name}.jsonl", format: jsonl}
crawlers:
  processed:
    database: my_glue_database
    targets: [s3://sluice-demo/processed/]
    on_change: true
query:
  database: my_glue_database
  output_location: s3://sluice-demo/athena/results/
"""


def random_user(rng, i):
    """A record shaped like randomuser.me's results[0]."""
    return {
        "gender": rng.choice(["female", "male"]),
        "name": {"title": "Mx", "first": "Léa%d" % i, "last": "García"},
        "location": {"country": rng.choice(["France", "Spain", "Brazil"]), "city": "X"},
        "email": "user%d@example.com" % i,
        "login": {"uuid": "uuid-%04d" % i, "username": "u%d" % i},
        "dob": {"age": rng.randint(18, 90)},
    }


def athena_rows(athena, sql):
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": "my_glue_database"},
                                       WorkGroup="primary")["QueryExecutionId"]

    def finished():
        state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
        return state if state in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    state = wait_for(finished, timeout=60, what="query " + qid)
    if state != "SUCCEEDED":
        return None
    rows, token = [], None
    while True:
        kwargs = {"QueryExecutionId": qid, "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        page = athena.get_query_results(**kwargs)
        rows += [[c.get("VarCharValue") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            return rows[1:]  # Athena's first row is the header


class NearRealTimeFlowThroughAwsApis(unittest.TestCase):
    def test_random_users_put_with_kinesis_come_back_from_athena_exactly_once(self):
        rng = random.Random(7)
        users = [random_user(rng, i) for i in range(60)]
        with Daemon(PIPELINE) as sluice:
            kinesis = sluice.client("kinesis")
            for data in users:
                kinesis.put_record(StreamName="GETrandomUserAPI", Data=json.dumps(data),
                                   PartitionKey="random_user_key")
            athena = sluice.client("athena")

            def all_users_queryable():
                rows = athena_rows(athena, "SELECT login_uuid, name_first, location_country FROM random_users")
                return rows if rows is not None and len(rows) >= len(users) else None

            rows = wait_for(all_users_queryable, timeout=120, interval=1, what="the users in Athena")
            # Let a late duplicate (a redelivery, a second processing) show if there were one.
            time.sleep(2)
            rows = athena_rows(athena, "SELECT login_uuid, name_first, location_country FROM random_users")
            uuids = [r[0] for r in rows]
            self.assertEqual(len(uuids), len(users), "each user exactly once")
            self.assertEqual(sorted(uuids), sorted(u["login"]["uuid"] for u in users))
            by_uuid = {r[0]: r for r in rows}
            for u in users:
                self.assertEqual(by_uuid[u["login"]["uuid"]][1], u["name"]["first"])
                self.assertEqual(by_uuid[u["login"]["uuid"]][2], u["location"]["country"])


if __name__ == "__main__":
    unittest.main()
