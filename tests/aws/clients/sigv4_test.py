"""SigV4 on the sluice daemon with keys configured (server.aws.credentials): boto3 and the AWS CLI signing
with the right key are served (Kinesis, S3 single and multipart uploads, presigned URLs); a wrong
secret, an unknown key, no signature and a tampered presigned URL are refused with each protocol's
codes, and nothing is written when a request is refused."""
import hashlib
import json
import os
import unittest
import urllib.error
import urllib.request

from botocore.exceptions import ClientError

from harness import ACCESS_KEY, SECRET_KEY, Daemon, error_code

PIPELINE = """buckets: [sigv4-bucket]
streams:
  signed-stream:
    shards: 1
"""

SERVER = """aws:
  region: us-east-1
  credentials:
    - {access_key_id: %s, secret_env: SLUICE_SIGV4_CLIENT_SECRET}
""" % ACCESS_KEY


def http_status(url, method="GET", data=None, headers=None):
    """(status, body) of a plain HTTP request, error statuses included."""
    request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class SigV4ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(PIPELINE, server_extra=SERVER, env={"SLUICE_SIGV4_CLIENT_SECRET": SECRET_KEY})
        cls.sluice = cls.daemon.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.__exit__(None, None, None)

    def test_kinesis_with_the_right_key_is_served(self):
        kinesis = self.sluice.client("kinesis")
        self.assertIn("signed-stream", kinesis.list_streams()["StreamNames"])
        kinesis.put_record(StreamName="signed-stream", Data=b'{"a": 1}', PartitionKey="p")

    def test_kinesis_refusals_use_json_codes(self):
        with self.assertRaises(ClientError) as wrong:
            self.sluice.client("kinesis", secret_key="not-the-secret").list_streams()
        self.assertEqual(error_code(wrong.exception), "InvalidSignatureException")
        self.assertEqual(wrong.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        with self.assertRaises(ClientError) as unknown:
            self.sluice.client("kinesis", access_key="AKIDUNKNOWN").list_streams()
        self.assertEqual(error_code(unknown.exception), "UnrecognizedClientException")
        status, body = http_status(self.sluice.endpoint + "/", "POST", b"{}",
                                   {"X-Amz-Target": "Kinesis_20131202.ListStreams",
                                    "Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["__type"], "MissingAuthenticationTokenException")

    def test_a_refused_put_record_writes_nothing(self):
        before = self.sluice.client("kinesis").describe_stream(StreamName="signed-stream")
        with self.assertRaises(ClientError):
            self.sluice.client("kinesis", secret_key="wrong").put_record(
                StreamName="signed-stream", Data=b"never", PartitionKey="p")
        shard = before["StreamDescription"]["Shards"][0]["ShardId"]
        kinesis = self.sluice.client("kinesis")
        iterator = kinesis.get_shard_iterator(StreamName="signed-stream", ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator)["Records"]
        self.assertNotIn(b"never", [r["Data"] for r in records])

    def test_s3_objects_round_trip_signed(self):
        s3 = self.sluice.client("s3")
        s3.put_object(Bucket="sigv4-bucket", Key="dir/a b+c.txt", Body=b"signed body")
        self.assertEqual(s3.get_object(Bucket="sigv4-bucket", Key="dir/a b+c.txt")["Body"].read(), b"signed body")

    def test_s3_refusals_use_s3_codes_and_write_nothing(self):
        with self.assertRaises(ClientError) as wrong:
            self.sluice.client("s3", secret_key="not-the-secret").put_object(
                Bucket="sigv4-bucket", Key="refused.txt", Body=b"x")
        self.assertEqual(error_code(wrong.exception), "SignatureDoesNotMatch")
        self.assertEqual(wrong.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        with self.assertRaises(ClientError) as unknown:
            self.sluice.client("s3", access_key="AKIDUNKNOWN").list_objects_v2(Bucket="sigv4-bucket")
        self.assertEqual(error_code(unknown.exception), "InvalidAccessKeyId")
        with self.assertRaises(ClientError) as missing:
            self.sluice.client("s3").head_object(Bucket="sigv4-bucket", Key="refused.txt")
        self.assertEqual(missing.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_body_checksums_are_verified_before_anything_is_kept(self):
        s3 = self.sluice.client("s3")
        s3.put_object(Bucket="sigv4-bucket", Key="crc.txt", Body=b"123456789", ChecksumAlgorithm="CRC32")
        with self.assertRaises(ClientError) as bad:
            s3.put_object(Bucket="sigv4-bucket", Key="md5.txt", Body=b"123456789",
                          ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
        self.assertEqual(error_code(bad.exception), "BadDigest")
        with self.assertRaises(ClientError) as missing:
            s3.head_object(Bucket="sigv4-bucket", Key="md5.txt")
        self.assertEqual(missing.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_presigned_urls_work_until_tampered_with(self):
        # botocore 1.29 presigns S3 URLs with SigV2 unless told s3v4; sluice speaks SigV4 only.
        s3 = self.sluice.client("s3", signature_version="s3v4")
        s3.put_object(Bucket="sigv4-bucket", Key="presigned.txt", Body=b"shared")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "sigv4-bucket", "Key": "presigned.txt"},
                                        ExpiresIn=300)
        self.assertEqual(http_status(url), (200, b"shared"))
        status, body = http_status(url.replace("presigned.txt", "presigned.tx%74"))
        self.assertEqual(status, 403, body)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", body)
        status, body = http_status(url.replace("X-Amz-Expires=300", "X-Amz-Expires=301"))
        self.assertEqual(status, 403, body)

    def test_signature_version_2_urls_are_refused_with_keys(self):
        s3 = self.sluice.client("s3")  # botocore 1.29 presigns with SigV2 by default
        s3.put_object(Bucket="sigv4-bucket", Key="v2.txt", Body=b"v2")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "sigv4-bucket", "Key": "v2.txt"})
        self.assertIn("AWSAccessKeyId=", url)
        status, body = http_status(url)
        self.assertEqual(status, 403, body)
        self.assertIn(b"<Code>AccessDenied</Code>", body)

    def test_aws_cli_uploads_multipart_signed(self):
        path = os.path.join(self.sluice.dir, "big.bin")
        data = os.urandom(9 << 20)  # above the CLI's 8 MiB multipart threshold
        with open(path, "wb") as f:
            f.write(data)
        self.sluice.aws("s3", "cp", path, "s3://sigv4-bucket/big.bin")
        got = self.sluice.client("s3").get_object(Bucket="sigv4-bucket", Key="big.bin")["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())
        wrong = self.sluice.aws("s3", "ls", "s3://sigv4-bucket/", check=False,
                                env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"})
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("SignatureDoesNotMatch", wrong.stderr)


class NoKeysOnLoopbackTest(unittest.TestCase):
    """Without server.aws.credentials (loopback only), any key or none is accepted, as local emulators do."""

    def test_any_key_and_default_presigned_urls_are_accepted(self):
        with Daemon(PIPELINE) as sluice:
            s3 = sluice.client("s3", access_key="AKIDANYTHING", secret_key="anything")
            s3.put_object(Bucket="sigv4-bucket", Key="open.txt", Body=b"open")
            self.assertIn("signed-stream",
                          sluice.client("kinesis", secret_key="whatever").list_streams()["StreamNames"])
            url = s3.generate_presigned_url("get_object", Params={"Bucket": "sigv4-bucket", "Key": "open.txt"})
            self.assertEqual(http_status(url), (200, b"open"))


if __name__ == "__main__":
    unittest.main()
