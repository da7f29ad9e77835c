"""Firehose through Debian's boto3 and the AWS CLI: every operation and its error codes, records put
with put_record_batch delivered as objects under the prefix (gzip'ed when asked), a delivery fed by a
stream refusing direct puts, delivery streams created through the API surviving a restart, and
delivered objects raising ObjectCreated (a processor on the prefix processes them)."""
import base64
import gzip
import json
import os
import unittest
import urllib.request

from botocore.exceptions import ClientError

from harness import Daemon, error_code, wait_for

ROLE = "arn:aws:iam::123456789012:role/firehose"

PIPELINE = """buckets: [lake]
streams:
  clicks: {shards: 1}
deliveries:
  declared-direct:
    direct_put: true
    to: s3://lake/declared/
    buffer: {size: 1MiB, interval: 0s}
  declared-from-stream:
    stream: clicks
    to: s3://lake/from-stream/
processors:
  from-firehose:
    input: {bucket: lake, prefix: api/users/, format: jsonl}
    steps:
      - select: [id, name]
    output: {key: "processed/{basename}.jsonl"}
"""


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def destination(prefix, compression="UNCOMPRESSED", interval=0, **extra):
    config = {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::lake", "Prefix": prefix,
              "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval}, "CompressionFormat": compression}
    config.update(extra)
    return config


class FirehoseClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = Daemon(PIPELINE).__enter__()
        # IntervalInSeconds 0 (what Firehose accepts today) is below the minimum this botocore's model
        # knows (60): client-side validation off, so that tests do not wait a minute for objects.
        cls.firehose = cls.sluice.client("firehose", parameter_validation=False)

    @classmethod
    def tearDownClass(cls):
        cls.sluice.__exit__(None, None, None)

    def objects_under(self, prefix):
        """{key: bytes} of the bucket lake under `prefix`, read from the data directory."""
        root = os.path.join(self.sluice.dir, "data", "objects", "lake")
        found = {}
        for folder, _, files in os.walk(os.path.join(root, prefix)):
            for name in files:
                path = os.path.join(folder, name)
                key = os.path.relpath(path, root)
                if not name.startswith("."):
                    with open(path, "rb") as f:
                        found[key] = f.read()
        return found

    def create_direct(self, name, prefix, **kw):
        return self.firehose.create_delivery_stream(DeliveryStreamName=name, DeliveryStreamType="DirectPut",
                                                    ExtendedS3DestinationConfiguration=destination(prefix, **kw))

    def expect_code(self, code, call, *args, **kw):
        with self.assertRaises(ClientError) as caught:
            call(*args, **kw)
        self.assertEqual(error_code(caught.exception), code, caught.exception.response)
        return caught.exception

    def test_put_record_batch_is_delivered_gzipped_under_the_prefix(self):
        arn = self.create_direct("gz", "api/gz/", compression="GZIP")["DeliveryStreamARN"]
        self.assertEqual(arn, "arn:aws:firehose:us-east-1:000000000000:deliverystream/gz")
        records = [json.dumps({"n": i}).encode() + b"\n" for i in range(20)]
        answer = self.firehose.put_record_batch(DeliveryStreamName="gz", Records=[{"Data": r} for r in records])
        self.assertEqual(answer["FailedPutCount"], 0)
        ids = [r["RecordId"] for r in answer["RequestResponses"]]
        self.assertEqual(len(set(ids)), 20)
        objects = wait_for(lambda: self.objects_under("api/gz/"), what="a delivered object")
        self.assertTrue(all(key.endswith(".gz") for key in objects), objects.keys())
        body = b"".join(gzip.decompress(data) for data in objects.values())
        self.assertEqual(body, b"".join(records))  # Firehose concatenates: the records carry their newlines

    def test_put_record_and_append_delimiter(self):
        processing = {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord", "Parameters": []}]}
        self.create_direct("lines", "api/lines/", ProcessingConfiguration=processing)
        first = self.firehose.put_record(DeliveryStreamName="lines", Record={"Data": b"alpha"})
        self.assertTrue(first["RecordId"])
        self.assertIs(first["Encrypted"], False)
        self.firehose.put_record(DeliveryStreamName="lines", Record={"Data": b"beta"})
        body = wait_for(lambda: b"".join(self.objects_under("api/lines/").values()).count(b"\n") == 2 and
                        b"".join(self.objects_under("api/lines/").values()), what="two delivered records")
        self.assertEqual(sorted(body.split(b"\n")), [b"", b"alpha", b"beta"])

    def test_dynamic_partitioning_with_a_metadata_extraction_query(self):
        config = destination(
            "api/by-city/city=!{partitionKeyFromQuery:city}/", ErrorOutputPrefix="api/errors/",
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration={"Enabled": True, "Processors": [
                {"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{city: .address.city}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]})
        self.firehose.create_delivery_stream(DeliveryStreamName="by-city", ExtendedS3DestinationConfiguration=config)
        rows = [{"id": 1, "address": {"city": "Oslo"}}, {"id": 2, "address": {"city": "Lima"}},
                {"id": 3, "address": {"city": "Oslo"}}]
        self.firehose.put_record_batch(DeliveryStreamName="by-city",
                                       Records=[{"Data": json.dumps(r).encode()} for r in rows])
        oslo = wait_for(lambda: self.objects_under("api/by-city/city=Oslo/"), what="the Oslo partition")
        self.assertEqual([json.loads(line)["id"] for line in b"".join(oslo.values()).splitlines()], [1, 3])
        self.assertTrue(wait_for(lambda: self.objects_under("api/by-city/city=Lima/"), what="the Lima partition"))
        described = self.firehose.describe_delivery_stream(DeliveryStreamName="by-city")["DeliveryStreamDescription"]
        extended = described["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(extended["Prefix"], "api/by-city/city=!{partitionKeyFromQuery:city}/")
        self.assertEqual(extended["DynamicPartitioningConfiguration"], {"Enabled": True})

    def test_describe_as_the_model_says(self):
        self.create_direct("described", "api/described/", interval=120)
        d = self.firehose.describe_delivery_stream(DeliveryStreamName="described")["DeliveryStreamDescription"]
        self.assertEqual(d["DeliveryStreamName"], "described")
        self.assertEqual(d["DeliveryStreamStatus"], "ACTIVE")
        self.assertEqual(d["DeliveryStreamType"], "DirectPut")
        self.assertEqual(d["VersionId"], "1")
        self.assertFalse(d["HasMoreDestinations"])
        self.assertIn("CreateTimestamp", d)
        dest = d["Destinations"][0]
        self.assertTrue(dest["DestinationId"])
        s3 = dest["ExtendedS3DestinationDescription"]
        self.assertEqual(s3["BucketARN"], "arn:aws:s3:::lake")
        self.assertEqual(s3["RoleARN"], ROLE)
        self.assertEqual(s3["Prefix"], "api/described/")
        self.assertEqual(s3["BufferingHints"], {"SizeInMBs": 1, "IntervalInSeconds": 120})
        self.assertEqual(s3["CompressionFormat"], "UNCOMPRESSED")
        declared = self.firehose.describe_delivery_stream(
            DeliveryStreamName="declared-from-stream")["DeliveryStreamDescription"]
        self.assertEqual(declared["DeliveryStreamType"], "KinesisStreamAsSource")
        self.assertTrue(declared["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"].endswith(
            ":stream/clicks"))

    def test_list_pages_with_limit_and_exclusive_start(self):
        for name in ("page-a", "page-b", "page-c"):
            self.create_direct(name, "api/pages/")
        first = self.firehose.list_delivery_streams(Limit=2, ExclusiveStartDeliveryStreamName="page")
        self.assertEqual(first["DeliveryStreamNames"], ["page-a", "page-b"])
        self.assertTrue(first["HasMoreDeliveryStreams"])
        rest = self.firehose.list_delivery_streams(Limit=10, ExclusiveStartDeliveryStreamName="page-b")
        self.assertEqual(rest["DeliveryStreamNames"][0], "page-c")
        names = self.firehose.list_delivery_streams(Limit=100)["DeliveryStreamNames"]
        self.assertIn("declared-direct", names)
        typed = self.firehose.list_delivery_streams(Limit=100, DeliveryStreamType="KinesisStreamAsSource")
        self.assertIn("declared-from-stream", typed["DeliveryStreamNames"])
        self.assertNotIn("page-a", typed["DeliveryStreamNames"])

    def test_delete_then_it_is_gone(self):
        self.create_direct("short-lived", "api/short/")
        self.firehose.put_record(DeliveryStreamName="short-lived", Record={"Data": b"old\n"})
        wait_for(lambda: self.objects_under("api/short/"), what="the first incarnation's object")
        self.firehose.delete_delivery_stream(DeliveryStreamName="short-lived")
        self.expect_code("ResourceNotFoundException", self.firehose.describe_delivery_stream,
                         DeliveryStreamName="short-lived")
        self.expect_code("ResourceNotFoundException", self.firehose.put_record, DeliveryStreamName="short-lived",
                         Record={"Data": b"x"})
        self.assertNotIn("short-lived", self.firehose.list_delivery_streams(Limit=100)["DeliveryStreamNames"])
        # One of the same name starts anew (its progress in the metastore was forgotten).
        self.create_direct("short-lived", "api/short-again/")
        self.firehose.put_record(DeliveryStreamName="short-lived", Record={"Data": b"new\n"})
        again = wait_for(lambda: self.objects_under("api/short-again/"), what="the second incarnation's object")
        self.assertEqual(list(again.values()), [b"new\n"])

    def test_error_codes(self):
        self.create_direct("taken", "api/taken/")
        self.expect_code("ResourceInUseException", self.create_direct, "taken", "api/taken/")
        self.expect_code("ResourceInUseException", self.create_direct, "declared-direct", "api/x/")
        e = self.expect_code("ResourceInUseException", self.firehose.delete_delivery_stream,
                             DeliveryStreamName="declared-direct")
        self.assertIn("pipeline file", e.response["Error"]["Message"])
        self.expect_code("ResourceNotFoundException", self.firehose.delete_delivery_stream, DeliveryStreamName="nope")
        self.expect_code("ResourceNotFoundException", self.firehose.put_record_batch, DeliveryStreamName="nope",
                         Records=[{"Data": b"x"}])
        e = self.expect_code("InvalidArgumentException", self.create_direct, "zipped", "api/zip/", compression="ZIP")
        self.assertIn("ZIP", e.response["Error"]["Message"])
        self.expect_code("InvalidArgumentException", self.firehose.create_delivery_stream, DeliveryStreamName="nob",
                         ExtendedS3DestinationConfiguration=dict(destination("x/"), BucketARN="arn:aws:s3:::absent"))
        self.expect_code("InvalidArgumentException", self.firehose.create_delivery_stream, DeliveryStreamName="nod")
        self.expect_code("InvalidArgumentException", self.firehose.create_delivery_stream,
                         DeliveryStreamName="bad name!", ExtendedS3DestinationConfiguration=destination("x/"))
        self.expect_code("InvalidArgumentException", self.firehose.put_record_batch, DeliveryStreamName="taken",
                         Records=[{"Data": b"x"}] * 501)
        self.expect_code("InvalidArgumentException", self.firehose.put_record, DeliveryStreamName="taken",
                         Record={"Data": b"x" * 1024001})
        self.expect_code("InvalidArgumentException", self.firehose.put_record_batch, DeliveryStreamName="taken",
                         Records=[{"Data": b"y" * 1000000}] * 5)  # 5 MB > 4 MiB

    def test_a_delivery_fed_by_a_stream_refuses_direct_puts(self):
        self.firehose.create_delivery_stream(
            DeliveryStreamName="from-clicks", DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/clicks",
                                              "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=destination("api/clicks/"))
        # What the stream receives is delivered under the prefix (records are written as the stream's
        # native ingest endpoint stores them: one per JSON value).
        request = urllib.request.Request(self.sluice.endpoint + "/v1/streams/clicks/records", method="POST",
                                         data=b'{"click": 1}\n{"click": 2}\n',
                                         headers={"Content-Type": "application/x-ndjson"})
        urllib.request.urlopen(request).read()
        body = wait_for(lambda: b"".join(self.objects_under("api/clicks/").values()).count(b"click") == 2 and
                        b"".join(self.objects_under("api/clicks/").values()), what="the stream's records")
        self.assertEqual([json.loads(b) for b in body.replace(b"}{", b"}\n{").splitlines()],
                         [{"click": 1}, {"click": 2}])
        for name in ("from-clicks", "declared-from-stream"):
            e = self.expect_code("InvalidArgumentException", self.firehose.put_record, DeliveryStreamName=name,
                                 Record={"Data": b"x"})
            self.assertIn("clicks", e.response["Error"]["Message"])
        self.expect_code("InvalidArgumentException", self.firehose.create_delivery_stream,
                         DeliveryStreamName="from-nothing", DeliveryStreamType="KinesisStreamAsSource",
                         KinesisStreamSourceConfiguration={
                             "KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/absent",
                             "RoleARN": ROLE},
                         ExtendedS3DestinationConfiguration=destination("api/none/"))

    def test_aws_cli_put_record_batch(self):
        self.create_direct("cli", "api/cli/")
        records = json.dumps([{"Data": "from the cli %d\n" % i} for i in range(3)])
        out = self.sluice.aws_json("firehose", "put-record-batch", "--cli-binary-format", "raw-in-base64-out",
                                   "--delivery-stream-name", "cli", "--records", records)
        self.assertEqual(out["FailedPutCount"], 0)
        self.assertEqual(len(out["RequestResponses"]), 3)
        body = wait_for(lambda: b"".join(self.objects_under("api/cli/").values()).count(b"\n") == 3 and
                        b"".join(self.objects_under("api/cli/").values()), what="the CLI's records")
        self.assertEqual(body, b"from the cli 0\nfrom the cli 1\nfrom the cli 2\n")

    def test_delivered_objects_are_processed(self):
        self.create_direct("users", "api/users/")
        rows = [{"id": i, "name": "user%d" % i, "secret": "x"} for i in range(3)]
        self.firehose.put_record_batch(DeliveryStreamName="users",
                                       Records=[{"Data": (json.dumps(r) + "\n").encode()} for r in rows])
        processed = wait_for(lambda: self.objects_under("processed/"), what="the processed output")
        out = [json.loads(line) for line in b"".join(processed.values()).splitlines()]
        self.assertEqual(sorted(out, key=lambda r: r["id"]), [{"id": i, "name": "user%d" % i} for i in range(3)])


class FirehoseRestart(unittest.TestCase):
    def test_created_delivery_streams_survive_a_restart_and_keep_delivering(self):
        with Daemon(PIPELINE) as sluice:
            def delivered():
                root = os.path.join(sluice.dir, "data", "objects", "lake", "api", "kept")
                return b"".join(read_file(os.path.join(d, f)) for d, _, files in os.walk(root)
                                for f in sorted(files) if not f.startswith("."))

            firehose = sluice.client("firehose", parameter_validation=False)
            firehose.create_delivery_stream(DeliveryStreamName="kept",
                                            ExtendedS3DestinationConfiguration=destination("api/kept/"))
            firehose.put_record(DeliveryStreamName="kept", Record={"Data": b"before\n"})
            wait_for(lambda: delivered() == b"before\n", what="the first record")
            sluice.restart()
            firehose = sluice.client("firehose", parameter_validation=False)
            self.assertIn("kept", firehose.list_delivery_streams()["DeliveryStreamNames"])
            d = firehose.describe_delivery_stream(DeliveryStreamName="kept")["DeliveryStreamDescription"]
            self.assertEqual(d["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"], "api/kept/")
            firehose.put_record(DeliveryStreamName="kept", Record={"Data": b"after\n"})
            wait_for(lambda: len(delivered()) >= len(b"before\nafter\n"), what="the second record")
            self.assertEqual(sorted(delivered().splitlines()), [b"after", b"before"])  # each once


if __name__ == "__main__":
    unittest.main()
