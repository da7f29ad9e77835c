"""The harness itself: a daemon starts, answers an AWS client with the JSON protocol's error shape."""
import unittest

from botocore.exceptions import ClientError

from harness import Daemon, error_code


class HarnessSmoke(unittest.TestCase):
    def test_an_unknown_json_operation_gets_the_aws_error_shape(self):
        with Daemon("buckets: [sluice-test]\n") as sluice:
            import urllib.request
            req = urllib.request.Request(sluice.endpoint + "/", data=b"{}", method="POST",
                                         headers={"X-Amz-Target": "NoSuchService_1.Op",
                                                  "Content-Type": "application/x-amz-json-1.1"})
            try:
                urllib.request.urlopen(req)
                self.fail("an unknown X-Amz-Target must not succeed")
            except urllib.error.HTTPError as e:
                self.assertIn(e.code, (400, 401, 404, 405))  # 405: "/" is GET-only (the console redirect)


if __name__ == "__main__":
    unittest.main()
