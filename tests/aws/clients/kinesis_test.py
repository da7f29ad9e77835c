"""Kinesis Data Streams through Debian's boto3 and the AWS CLI against a sluice daemon: every
operation, every error code, the original project's put_record call, streams created through the API
surviving a restart, and a record put with boto3 read back through GetRecords, the native API,
`sluice tail`, and a declared delivery."""
import base64
import json
import os
import threading
import time
import unittest
import urllib.request

from botocore.exceptions import ClientError

from harness import Daemon, error_code, wait_for

PIPELINE = """buckets: [sluice-demo]
streams:
  GETrandomUserAPI:
    shards: 1
  tight:
    shards: 1
    max_pending_bytes: 1MiB
deliveries:
  random-users-to-s3:
    stream: GETrandomUserAPI
    to: s3://sluice-demo/raw/random_users/
    buffer: {size: 1MiB, interval: 1s}
"""


class KinesisClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(PIPELINE)
        cls.sluice = cls.daemon.__enter__()
        cls.kinesis = cls.sluice.client("kinesis")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.__exit__(None, None, None)

    def assertCode(self, code, call, **kwargs):
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        self.assertEqual(error_code(caught.exception), code, caught.exception.response)
        return caught.exception

    def read_all(self, stream, shard="shardId-000000000000"):
        it = self.kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return self.kinesis.get_records(ShardIterator=it)["Records"]

    def test_the_original_put_record_is_read_tailed_and_delivered(self):
        data = {"name": {"first": "Ada", "last": "Lovelace"}, "email": "ada@example.com", "marker": "orig-1"}
        answer = self.kinesis.put_record(StreamName='GETrandomUserAPI', Data=json.dumps(data),
                                         PartitionKey='random_user_key')
        self.assertEqual(answer["ShardId"], "shardId-000000000000")
        records = self.read_all("GETrandomUserAPI")
        mine = [r for r in records if r["SequenceNumber"] == answer["SequenceNumber"]]
        self.assertEqual(len(mine), 1)
        self.assertEqual(json.loads(mine[0]["Data"]), data)
        self.assertEqual(mine[0]["PartitionKey"], "random_user_key")
        # The native API and `sluice tail` see the same record.
        with urllib.request.urlopen(self.sluice.endpoint + "/v1/streams/GETrandomUserAPI/records"
                                    "?shard=shardId-000000000000&from=trim_horizon") as response:
            self.assertIn("orig-1", response.read().decode())
        tail = self.sluice.sluice("tail", "GETrandomUserAPI", "-p", self.sluice.pipeline, "--url", self.sluice.endpoint)
        self.assertIn('"marker": "orig-1"', tail.stdout)

        # The declared delivery writes it to the bucket.
        def delivered():
            for root, _, files in os.walk(os.path.join(self.sluice.dir, "data")):
                if "random_users" not in root:
                    continue
                for name in files:
                    with open(os.path.join(root, name), "rb") as f:
                        if b"orig-1" in f.read():
                            return True
            return False
        wait_for(delivered, timeout=30, what="the delivery of the record")

    def test_streams_are_created_described_listed_and_deleted(self):
        self.kinesis.create_stream(StreamName="made-by-boto", ShardCount=3)
        self.assertCode("ResourceInUseException", self.kinesis.create_stream, StreamName="made-by-boto", ShardCount=1)
        d = self.kinesis.describe_stream(StreamName="made-by-boto")["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertEqual(d["StreamARN"], "arn:aws:kinesis:us-east-1:000000000000:stream/made-by-boto")
        self.assertEqual([s["ShardId"] for s in d["Shards"]],
                         ["shardId-00000000000%d" % i for i in range(3)])
        self.assertEqual(d["Shards"][2]["HashKeyRange"]["EndingHashKey"], str(2 ** 128 - 1))
        self.assertFalse(d["HasMoreShards"])
        summary = self.kinesis.describe_stream_summary(StreamName="made-by-boto")["StreamDescriptionSummary"]
        self.assertEqual(summary["OpenShardCount"], 3)
        self.assertEqual(len(self.kinesis.list_shards(StreamName="made-by-boto")["Shards"]), 3)
        names = self.kinesis.list_streams()["StreamNames"]
        self.assertIn("made-by-boto", names)
        self.assertIn("GETrandomUserAPI", names)
        paged = self.kinesis.list_streams(Limit=1)
        self.assertEqual(len(paged["StreamNames"]), 1)
        self.assertTrue(paged["HasMoreStreams"])
        self.kinesis.delete_stream(StreamName="made-by-boto")
        self.assertCode("ResourceNotFoundException", self.kinesis.describe_stream, StreamName="made-by-boto")
        self.assertCode("ResourceNotFoundException", self.kinesis.delete_stream, StreamName="made-by-boto")
        self.assertCode("ResourceInUseException", self.kinesis.delete_stream, StreamName="GETrandomUserAPI")
        self.assertCode("LimitExceededException", self.kinesis.create_stream, StreamName="huge", ShardCount=1000)

    def test_put_records_and_every_iterator_type(self):
        self.kinesis.create_stream(StreamName="iterators", ShardCount=1)
        first = self.kinesis.put_records(StreamName="iterators", Records=[
            {"Data": b"r%d" % i, "PartitionKey": "k%d" % i} for i in range(3)])
        self.assertEqual(first["FailedRecordCount"], 0)
        seq = [r["SequenceNumber"] for r in first["Records"]]

        def read(**start):
            it = self.kinesis.get_shard_iterator(StreamName="iterators", ShardId="shardId-000000000000", **start)
            return [r["Data"] for r in self.kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]]

        self.assertEqual(read(ShardIteratorType="TRIM_HORIZON"), [b"r0", b"r1", b"r2"])
        self.assertEqual(read(ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq[1]), [b"r1", b"r2"])
        self.assertEqual(read(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seq[1]), [b"r2"])
        self.assertEqual(read(ShardIteratorType="AT_TIMESTAMP", Timestamp=time.time() - 3600), [b"r0", b"r1", b"r2"])
        self.assertEqual(read(ShardIteratorType="AT_TIMESTAMP", Timestamp=time.time() + 3600), [])
        latest = self.kinesis.get_shard_iterator(StreamName="iterators", ShardId="shardId-000000000000",
                                                 ShardIteratorType="LATEST")["ShardIterator"]
        self.kinesis.put_record(StreamName="iterators", Data=b"r3", PartitionKey="k")
        got = self.kinesis.get_records(ShardIterator=latest, Limit=10)
        self.assertEqual([r["Data"] for r in got["Records"]], [b"r3"])
        self.assertIn("NextShardIterator", got)
        self.assertEqual(got["MillisBehindLatest"], 0)
        self.assertIsNotNone(got["Records"][0]["ApproximateArrivalTimestamp"].year)

    def test_error_codes(self):
        k = self.kinesis
        self.assertCode("ResourceNotFoundException", k.put_record, StreamName="nope", Data=b"x", PartitionKey="k")
        self.assertCode("InvalidArgumentException", k.get_records, ShardIterator="not-an-iterator")
        self.assertCode("InvalidArgumentException", k.get_shard_iterator, StreamName="GETrandomUserAPI",
                        ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER")
        self.assertCode("InvalidArgumentException", k.put_records, StreamName="GETrandomUserAPI",
                        Records=[{"Data": b"x" * (1 << 20), "PartitionKey": "kk"}])
        self.assertCode("ResourceNotFoundException", k.get_shard_iterator, StreamName="GETrandomUserAPI",
                        ShardId="shardId-000000000007", ShardIteratorType="LATEST")
        self.assertCode("InvalidArgumentException", k.increase_stream_retention_period,
                        StreamName="GETrandomUserAPI", RetentionPeriodHours=9000)
        # Checks botocore does not make: send them raw.
        for target, body, code in [
            ("PutRecords", {"StreamName": "GETrandomUserAPI", "Records": [{"Data": "YQ==", "PartitionKey": "k"}] * 501},
             "ValidationException"),
            ("GetRecords", {"ShardIterator": "x", "Limit": 10001}, "ValidationException"),
            ("CreateStream", "{not json", "SerializationException"),
        ]:
            data = body if isinstance(body, str) else json.dumps(body)
            request = urllib.request.Request(self.sluice.endpoint + "/", data=data.encode(), method="POST", headers={
                "X-Amz-Target": "Kinesis_20131202." + target, "Content-Type": "application/x-amz-json-1.1"})
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request)
            self.assertEqual(caught.exception.code, 400)
            self.assertEqual(json.loads(caught.exception.read())["__type"], code)

    def test_back_pressure_is_provisioned_throughput_exceeded(self):
        # Writers filling the 1 MiB pending limit of "tight" from several threads: some puts must be
        # refused, PutRecord with the error, PutRecords record by record.
        seen = {"single": None, "batch": None}
        stop = time.time() + 30
        payload = b"x" * (200 << 10)

        def hammer():
            client = self.sluice.client("kinesis")
            while time.time() < stop and not all(seen.values()):
                try:
                    client.put_record(StreamName="tight", Data=payload * 4, PartitionKey="k")
                except ClientError as e:
                    seen["single"] = seen["single"] or error_code(e)
                answer = client.put_records(StreamName="tight",
                                            Records=[{"Data": payload, "PartitionKey": "k"}] * 5)
                if answer["FailedRecordCount"] > 0:
                    seen["batch"] = seen["batch"] or answer["Records"][0]["ErrorCode"]

        threads = [threading.Thread(target=hammer) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(seen, {"single": "ProvisionedThroughputExceededException",
                                "batch": "ProvisionedThroughputExceededException"})

    def test_retention_and_tags(self):
        self.kinesis.create_stream(StreamName="tagged", ShardCount=1)
        self.kinesis.increase_stream_retention_period(StreamName="tagged", RetentionPeriodHours=48)
        self.assertEqual(self.kinesis.describe_stream(StreamName="tagged")["StreamDescription"]["RetentionPeriodHours"], 48)
        self.assertCode("InvalidArgumentException", self.kinesis.decrease_stream_retention_period,
                        StreamName="tagged", RetentionPeriodHours=72)
        self.kinesis.decrease_stream_retention_period(StreamName="tagged", RetentionPeriodHours=24)
        self.kinesis.add_tags_to_stream(StreamName="tagged", Tags={"team": "data", "env": "test"})
        self.assertEqual(self.kinesis.list_tags_for_stream(StreamName="tagged")["Tags"],
                         [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "data"}])
        self.kinesis.remove_tags_from_stream(StreamName="tagged", TagKeys=["env"])
        self.assertEqual(self.kinesis.list_tags_for_stream(StreamName="tagged")["Tags"], [{"Key": "team", "Value": "data"}])
        self.assertCode("InvalidArgumentException", self.kinesis.add_tags_to_stream, StreamName="tagged",
                        Tags={"t%d" % i: "v" for i in range(60)})

    def test_the_aws_cli_puts_and_lists(self):
        put = self.sluice.aws_json("kinesis", "put-record", "--stream-name", "GETrandomUserAPI", "--partition-key",
                                   "cli", "--data", '{"from":"cli"}', "--cli-binary-format", "raw-in-base64-out")
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        self.assertIn("GETrandomUserAPI", self.sluice.aws_json("kinesis", "list-streams")["StreamNames"])
        records = self.read_all("GETrandomUserAPI")
        self.assertIn(b'{"from":"cli"}', [r["Data"] for r in records])


class KinesisRestartTest(unittest.TestCase):
    def test_created_streams_their_records_retention_and_tags_survive_a_restart(self):
        with Daemon(PIPELINE) as sluice:
            kinesis = sluice.client("kinesis")
            kinesis.create_stream(StreamName="lasting", ShardCount=2)
            put = kinesis.put_record(StreamName="lasting", Data=b"kept", PartitionKey="k")
            kinesis.increase_stream_retention_period(StreamName="lasting", RetentionPeriodHours=100)
            kinesis.increase_stream_retention_period(StreamName="GETrandomUserAPI", RetentionPeriodHours=30)
            kinesis.add_tags_to_stream(StreamName="lasting", Tags={"owner": "me"})
            sluice.restart()
            kinesis = sluice.client("kinesis")
            d = kinesis.describe_stream(StreamName="lasting")["StreamDescription"]
            self.assertEqual(len(d["Shards"]), 2)
            self.assertEqual(d["RetentionPeriodHours"], 100)
            self.assertEqual(kinesis.describe_stream_summary(StreamName="GETrandomUserAPI")
                             ["StreamDescriptionSummary"]["RetentionPeriodHours"], 30)
            self.assertEqual(kinesis.list_tags_for_stream(StreamName="lasting")["Tags"], [{"Key": "owner", "Value": "me"}])
            it = kinesis.get_shard_iterator(StreamName="lasting", ShardId=put["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
                                            StartingSequenceNumber=put["SequenceNumber"])["ShardIterator"]
            self.assertEqual([r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]], [b"kept"])


if __name__ == "__main__":
    unittest.main()
