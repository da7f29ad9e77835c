"""Runs a sluice daemon for tests that talk to it with real AWS clients: Debian's boto3 (run these
files with /usr/bin/python3) and the AWS CLI (/usr/bin/aws).

    with Daemon(PIPELINE_BODY) as sluice:
        kinesis = sluice.client("kinesis")
        sluice.aws("kinesis", "list-streams")

PIPELINE_BODY is the pipeline file without data_dir and server (the harness adds them: a fresh data
directory, port 0, and `server_extra` lines under server:). The daemon's binary is $SLUICE_BIN.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

import boto3
from botocore.config import Config

SLUICE = os.environ.get("SLUICE_BIN", "sluice")
AWS_CLI = os.environ.get("SLUICE_AWS_CLI", "/usr/bin/aws")
ACCESS_KEY = "AKIDSLUICETEST"
SECRET_KEY = "sluice-test-secret-key"
REGION = "us-east-1"


def client_environment(extra=None):
    """An environment in which AWS clients see only the credentials given here, never the user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent/sluice-test-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/sluice-test-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    })
    env.update(extra or {})
    return env


class Daemon:
    def __init__(self, pipeline_body, server_extra="", env=None, startup_timeout=30, data_tmpfs_bytes=None):
        """data_tmpfs_bytes: put the data directory on a tmpfs of that size (root only), to fill it."""
        self.pipeline_body = pipeline_body
        self.data_tmpfs_bytes = data_tmpfs_bytes
        self.server_extra = server_extra
        self.env = env or {}
        self.startup_timeout = startup_timeout
        self.process = None

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="sluice-aws-")
        self.dir = self.tmp.name
        self.pipeline = os.path.join(self.dir, "pipeline.yaml")
        server = "server:\n  port: 0\n" + "".join("  " + line + "\n" for line in self.server_extra.splitlines() if line)
        with open(self.pipeline, "w") as f:
            f.write("data_dir: ./data\n" + server + self.pipeline_body)
        self.mounted = None
        if self.data_tmpfs_bytes:
            self.mounted = os.path.join(self.dir, "data")
            os.mkdir(self.mounted)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % self.data_tmpfs_bytes, "tmpfs", self.mounted],
                           check=True)
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def start(self):
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.log = open(self.log_path, "ab")
        env = dict(os.environ, SLUICE_LOG="info", **self.env)
        self.process = subprocess.Popen([SLUICE, "run", self.pipeline], cwd=self.dir, stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + self.startup_timeout
        pattern = re.compile(rb"HTTP API on http://127\.0\.0\.1:([0-9]+)")
        start_offset = self.log.tell()
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(start_offset)
                m = pattern.search(f.read())
            if m:
                self.port = int(m.group(1))
                self.endpoint = "http://127.0.0.1:%d" % self.port
                return
            if self.process.poll() is not None:
                raise RuntimeError("sluice exited at start:\n" + self.log_text())
            time.sleep(0.02)
        raise RuntimeError("sluice did not report its port:\n" + self.log_text())

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()
        self.process = None

    def restart(self):
        self.stop()
        self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.mounted:
            subprocess.run(["umount", self.mounted], check=False)
        self.tmp.cleanup()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def client(self, service, access_key=ACCESS_KEY, secret_key=SECRET_KEY, addressing_style="path", **config):
        """A boto3 client of `service` pointed at this daemon, retries off (a failure shows at once)."""
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": addressing_style},
                          **config))

    def aws(self, *args, check=True, input=None, env=None, timeout=300):
        """Runs the AWS CLI against this daemon; returns the CompletedProcess (text). JSON output."""
        cmd = [AWS_CLI, "--endpoint-url", self.endpoint, "--region", REGION, "--output", "json", *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True, env=client_environment(env),
                                cwd=self.dir, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError("aws %s failed (%d):\n%s\n%s" % (" ".join(args), result.returncode, result.stdout,
                                                                 result.stderr))
        return result

    def aws_json(self, *args, **kw):
        out = self.aws(*args, **kw).stdout
        return json.loads(out) if out.strip() else {}

    def sluice(self, *args, check=True):
        """Runs the sluice CLI on this daemon's pipeline file."""
        result = subprocess.run([SLUICE, *args], capture_output=True, text=True, cwd=self.dir, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError("sluice %s failed (%d):\n%s\n%s" % (" ".join(args), result.returncode,
                                                                    result.stdout, result.stderr))
        return result


def error_code(exc):
    """The AWS error code of a botocore ClientError."""
    return exc.response["Error"]["Code"]


def wait_for(predicate, timeout=30, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)
