"""S3 with a current boto3 (1.36 or newer), when the machine has one on PATH's python3: those send
flexible checksums by default (x-amz-checksum-crc32 on every put, CRC32 on each multipart part), which
Debian's boto3 1.26 does not. Skipped where no such boto3 is installed."""
import io
import unittest

try:
    import boto3
    from botocore.exceptions import ClientError
    CURRENT = tuple(int(p) for p in boto3.__version__.split(".")[:2]) >= (1, 36)
except ImportError:
    CURRENT = False

if CURRENT:
    from harness import Daemon, error_code


@unittest.skipUnless(CURRENT, "needs boto3 >= 1.36 on PATH's python3")
class CurrentBoto3Checksums(unittest.TestCase):
    def test_default_checksums_are_verified_and_a_wrong_one_writes_nothing(self):
        with Daemon("buckets: [sluice-demo]\n") as sluice:
            s3 = sluice.client("s3")
            body = b"hello world" * 1000
            s3.put_object(Bucket="sluice-demo", Key="raw/a.txt", Body=body)
            self.assertEqual(s3.get_object(Bucket="sluice-demo", Key="raw/a.txt")["Body"].read(), body)
            s3.upload_fileobj(io.BytesIO(b"z" * (9 << 20)), "sluice-demo", "raw/mp.bin")
            self.assertTrue(s3.head_object(Bucket="sluice-demo", Key="raw/mp.bin")["ETag"].endswith('-2"'))

            def corrupt(request, **kwargs):
                for name in list(request.headers.keys()):
                    if name.lower() == "x-amz-checksum-crc32":
                        request.headers[name] = "AAAAAA=="

            s3.meta.events.register("before-send.s3.PutObject", corrupt)
            with self.assertRaises(ClientError) as refused:
                s3.put_object(Bucket="sluice-demo", Key="raw/b.txt", Body=body)
            self.assertEqual(error_code(refused.exception), "BadDigest")
            listed = [o["Key"] for o in s3.list_objects_v2(Bucket="sluice-demo").get("Contents", [])]
            self.assertEqual(sorted(listed), ["raw/a.txt", "raw/mp.bin"])


if __name__ == "__main__":
    unittest.main()
