"""Requests signed by Debian's botocore (and one signed aws-chunked trailer computed here with hmac and
hashlib), printed as JSON for aws_sigv4_test to verify: an implementation independent of sluice's.

Each case: name, service, family (s3 | json), method, target (path and query as sent), headers, body
(latin-1 text), now (epoch seconds the signature was made at), secret, access_key_id."""
import base64
import binascii
import datetime
import hashlib
import hmac
import json
import sys
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID = "AKIDBOTOCORE0001"
SECRET = "botocore/Secret+Key/0123456789abcdefEXAMPLE"
WHEN = datetime.datetime(2024, 2, 29, 23, 59, 30)
NOW = int(WHEN.replace(tzinfo=datetime.timezone.utc).timestamp())


def signed(signer_class, service, method, url, headers=None, body=b"", **kwargs):
    request = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    with mock.patch("botocore.auth.datetime") as clock:
        clock.datetime.utcnow.return_value = WHEN
        clock.datetime.strptime = datetime.datetime.strptime
        signer_class(Credentials(AKID, SECRET), service, "us-east-1", **kwargs).add_auth(request)
    parts = urlsplit(request.url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    headers.setdefault("Host", parts.netloc)
    data = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    return {"method": method, "target": target, "headers": headers, "body": data.decode("latin-1"),
            "now": NOW, "secret": SECRET, "access_key_id": AKID}


def case(name, service, family, request):
    request.update({"name": name, "service": service, "family": family})
    return request


def sign_trailer_case():
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body, signed here with hmac/hashlib."""
    amz_date = WHEN.strftime("%Y%m%dT%H%M%SZ")
    scope = amz_date[:8] + "/us-east-1/s3/aws4_request"
    key = ("AWS4" + SECRET).encode()
    for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    data = (b"0123456789abcdef" * 700)[:9000] + b"tail" * 300  # 2 chunks: 9000 + 1200 bytes
    crc = base64.b64encode((binascii.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode()
    decoded_length = str(len(data))
    headers = {"Host": "bucket.s3.amazonaws.com", "x-amz-date": amz_date,
               "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
               "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": decoded_length,
               "x-amz-trailer": "x-amz-checksum-crc32"}
    signed_names = sorted(h.lower() for h in headers)
    canonical_headers = "".join(f"{n}:{headers[next(h for h in headers if h.lower() == n)]}\n"
                                for n in signed_names)
    canonical = "\n".join(["PUT", "/trailer/object.bin", "", canonical_headers, ";".join(signed_names),
                           headers["x-amz-content-sha256"]])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    seed = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}, "
                                f"SignedHeaders={';'.join(signed_names)}, Signature={seed}")
    body, previous = b"", seed
    for chunk in (data[:9000], data[9000:], b""):
        chunk_to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous,
                                   hashlib.sha256(b"").hexdigest(), hashlib.sha256(chunk).hexdigest()])
        previous = hmac.new(key, chunk_to_sign.encode(), hashlib.sha256).hexdigest()
        body += b"%x;chunk-signature=%s\r\n" % (len(chunk), previous.encode())
        if chunk:
            body += chunk + b"\r\n"
    trailer = f"x-amz-checksum-crc32:{crc}\n"
    trailer_to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous,
                                 hashlib.sha256(trailer.encode()).hexdigest()])
    trailer_signature = hmac.new(key, trailer_to_sign.encode(), hashlib.sha256).hexdigest()
    body += f"x-amz-checksum-crc32:{crc}\r\nx-amz-trailer-signature:{trailer_signature}\r\n\r\n".encode()
    headers["Content-Length"] = str(len(body))
    return {"name": "s3-signed-trailer", "service": "s3", "family": "s3", "method": "PUT",
            "target": "/trailer/object.bin", "headers": headers, "body": body.decode("latin-1"), "now": NOW,
            "secret": SECRET, "access_key_id": AKID, "decoded": data.decode("latin-1")}


def main():
    key = "my folder/ünï (1)+x=y&z.txt"
    cases = [
        case("kinesis-put-record", "kinesis", "json",
             signed(auth.SigV4Auth, "kinesis", "POST", "https://kinesis.us-east-1.amazonaws.com/",
                    {"X-Amz-Target": "Kinesis_20131202.PutRecord",
                     "Content-Type": "application/x-amz-json-1.1"},
                    b'{"StreamName":"s","Data":"aGk=","PartitionKey":"p"}')),
        case("glue-odd-path", "glue", "json",
             signed(auth.SigV4Auth, "glue", "GET",
                    "https://glue.us-east-1.amazonaws.com/a/./b//c/../d%20e/?b=2&a=1&a=0&c=%2F%20x&empty=")),
        case("s3-put-odd-key", "s3", "s3",
             signed(auth.S3SigV4Auth, "s3", "PUT",
                    "https://s3.us-east-1.amazonaws.com/bucket/" + quote(key, safe="/~"),
                    {"Content-Type": "text/plain", "x-amz-meta-note": "  two   spaces  "}, b"hello world\n")),
        case("s3-list-query", "s3", "s3",
             signed(auth.S3SigV4Auth, "s3", "GET",
                    "https://s3.us-east-1.amazonaws.com/bucket?list-type=2&prefix=a%20b&delimiter=%2F")),
        case("s3-presigned-get", "s3", "s3",
             signed(auth.S3SigV4QueryAuth, "s3", "GET",
                    "https://s3.us-east-1.amazonaws.com/bucket/" + quote(key, safe="/~") +
                    "?versionId=abc&response-content-type=text%2Fplain", expires=3600)),
        sign_trailer_case(),
    ]
    json.dump(cases, sys.stdout)


if __name__ == "__main__":
    main()
