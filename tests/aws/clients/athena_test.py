"""The Athena API with Debian's boto3 and the AWS CLI over a crawled catalog: queries run
asynchronously, their state, statistics and results (header row first, typed metadata, pages), and
the error codes."""
import unittest
import urllib.request
import uuid

from botocore.exceptions import ClientError

from glue_test import USERS, start_with_data
from harness import error_code, wait_for


def finished(athena, query_id, timeout=60):
    """The query execution once it is neither QUEUED nor RUNNING."""
    def done():
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        return execution if execution["Status"]["State"] not in ("QUEUED", "RUNNING") else None
    return wait_for(done, timeout=timeout, interval=0.05, what="query " + query_id)


class AthenaClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sluice = start_with_data()
        cls.athena = cls.sluice.client("athena")
        cls.s3_results = "s3://lake/athena/results/"

    @classmethod
    def tearDownClass(cls):
        cls.sluice.__exit__(None, None, None)

    def assert_code(self, code, call, **kwargs):
        with self.assertRaises(ClientError) as caught:
            call(**kwargs)
        self.assertEqual(error_code(caught.exception), code)
        return caught.exception

    def test_query_state_statistics_and_results(self):
        start = self.athena.start_query_execution(
            QueryString="SELECT id, name, address.city AS city FROM users ORDER BY id",
            QueryExecutionContext={"Database": "my_glue_database"},
            ResultConfiguration={"OutputLocation": "s3://lake/athena/mine/"}, WorkGroup="primary")
        query_id = start["QueryExecutionId"]
        execution = finished(self.athena, query_id)
        self.assertEqual(execution["Status"]["State"], "SUCCEEDED", execution)
        self.assertEqual(execution["ResultConfiguration"]["OutputLocation"],
                         "s3://lake/athena/mine/%s.csv" % query_id)
        self.assertGreater(execution["Statistics"]["DataScannedInBytes"], 0)
        self.assertIn("TotalExecutionTimeInMillis", execution["Statistics"])
        self.assertIn("EngineExecutionTimeInMillis", execution["Statistics"])
        self.assertLessEqual(execution["Status"]["SubmissionDateTime"], execution["Status"]["CompletionDateTime"])
        self.assertEqual(execution["QueryExecutionContext"]["Database"], "my_glue_database")

        results = self.athena.get_query_results(QueryExecutionId=query_id)
        rows = [[d.get("VarCharValue") for d in r["Data"]] for r in results["ResultSet"]["Rows"]]
        self.assertEqual(rows[0], ["id", "name", "city"])
        self.assertEqual(rows[1:], [[str(u["id"]), u["name"], u["address"]["city"]] for u in USERS])
        info = results["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        self.assertEqual([(c["Name"], c["Type"]) for c in info], [("id", "integer"), ("name", "varchar"),
                                                                   ("city", "varchar")])
        # Pages of two rows, the header first, through boto3's own paginator.
        pages = list(self.athena.get_paginator("get_query_results").paginate(
            QueryExecutionId=query_id, PaginationConfig={"PageSize": 2}))
        self.assertEqual(len(pages), 2)
        paged = [[d.get("VarCharValue") for d in r["Data"]] for p in pages for r in p["ResultSet"]["Rows"]]
        self.assertEqual(paged, rows)

        # A finished query: stopping it changes nothing; it is listed and batch-gettable.
        self.athena.stop_query_execution(QueryExecutionId=query_id)
        self.assertEqual(finished(self.athena, query_id)["Status"]["State"], "SUCCEEDED")
        self.assertIn(query_id, self.athena.list_query_executions()["QueryExecutionIds"])
        unknown = str(uuid.uuid4())
        batch = self.athena.batch_get_query_execution(QueryExecutionIds=[query_id, unknown])
        self.assertEqual([e["QueryExecutionId"] for e in batch["QueryExecutions"]], [query_id])
        self.assertEqual([u["QueryExecutionId"] for u in batch["UnprocessedQueryExecutionIds"]], [unknown])

    def test_athena_queries_are_counted_with_the_daemons_queries(self):
        from prometheus_client.parser import text_string_to_metric_families

        def counted():
            with urllib.request.urlopen(self.sluice.endpoint + "/metrics", timeout=10) as r:
                text = r.read().decode()
            out = {}
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == "sluice_queries_total":
                        out[sample.labels["state"]] = sample.value
            return out

        before = counted()
        ok = self.athena.start_query_execution(QueryString="SELECT 1 AS one")["QueryExecutionId"]
        bad = self.athena.start_query_execution(QueryString="SELECT * FROM nowhere")["QueryExecutionId"]
        finished(self.athena, ok)
        finished(self.athena, bad)
        after = wait_for(lambda: (lambda c: c if c.get("FAILED", 0) > before.get("FAILED", 0) else None)(counted()),
                         what="the failed Athena query counted")
        self.assertEqual(after.get("SUCCEEDED", 0), before.get("SUCCEEDED", 0) + 1)
        self.assertEqual(after.get("FAILED", 0), before.get("FAILED", 0) + 1)

    def test_the_default_output_location_and_idempotency(self):
        token = str(uuid.uuid4())
        first = self.athena.start_query_execution(QueryString="SELECT count(*) AS n FROM events",
                                                  ClientRequestToken=token)["QueryExecutionId"]
        again = self.athena.start_query_execution(QueryString="SELECT count(*) AS n FROM events",
                                                  ClientRequestToken=token)["QueryExecutionId"]
        self.assertEqual(first, again)
        execution = finished(self.athena, first)
        self.assertEqual(execution["ResultConfiguration"]["OutputLocation"], self.s3_results + first + ".csv")
        rows = self.athena.get_query_results(QueryExecutionId=first)["ResultSet"]["Rows"]
        self.assertEqual(rows[1]["Data"][0]["VarCharValue"], "3")
        self.assertEqual(self.athena.get_query_results(QueryExecutionId=first)["ResultSet"]["ResultSetMetadata"]
                         ["ColumnInfo"][0]["Type"], "bigint")

    def test_errors(self):
        failed = self.athena.start_query_execution(QueryString="SELECT * FROM no_such_table")["QueryExecutionId"]
        execution = finished(self.athena, failed)
        self.assertEqual(execution["Status"]["State"], "FAILED")
        self.assertIn("no_such_table", execution["Status"]["StateChangeReason"])
        self.assert_code("InvalidRequestException", self.athena.get_query_results, QueryExecutionId=failed)
        self.assert_code("InvalidRequestException", self.athena.get_query_execution,
                         QueryExecutionId=str(uuid.uuid4()))
        self.assert_code("InvalidRequestException", self.athena.stop_query_execution,
                         QueryExecutionId=str(uuid.uuid4()))
        e = self.assert_code("InvalidRequestException", self.athena.start_query_execution, QueryString="SELECT 1",
                             ResultConfiguration={"OutputLocation": "s3://no-such-bucket/x/"})
        self.assertEqual(e.response["AthenaErrorCode"], "INVALID_INPUT")
        self.assert_code("InvalidRequestException", self.athena.start_query_execution, QueryString="SELECT 1",
                         WorkGroup="nope")

    def test_stop_a_running_query(self):
        slow = self.athena.start_query_execution(
            QueryString="SELECT count(*) FROM range(100000000000)"
        )["QueryExecutionId"]
        wait_for(lambda: self.athena.get_query_execution(QueryExecutionId=slow)["QueryExecution"]["Status"]["State"]
                 != "QUEUED", what="the slow query to start")
        self.athena.stop_query_execution(QueryExecutionId=slow)
        execution = finished(self.athena, slow)
        self.assertEqual(execution["Status"]["State"], "CANCELLED")

    def test_a_full_queue_throttles(self):
        endless = "SELECT count(*) FROM range(100000000000)"
        started = []
        try:
            for _ in range(500):
                try:
                    started.append(self.athena.start_query_execution(QueryString=endless)["QueryExecutionId"])
                except ClientError as e:
                    self.assertEqual(error_code(e), "TooManyRequestsException")
                    self.assertEqual(e.response["Reason"], "CONCURRENT_QUERY_LIMIT_EXCEEDED")
                    break
            else:
                self.fail("500 endless queries were accepted: the queue is not bounded")
            states = {e["Status"]["State"] for e in self.athena.batch_get_query_execution(
                QueryExecutionIds=started[-50:])["QueryExecutions"]}
            self.assertIn("QUEUED", states)
        finally:
            for query_id in reversed(started):  # the queued ones first, so none of them starts
                self.athena.stop_query_execution(QueryExecutionId=query_id)
        for query_id in started[:2]:
            self.assertEqual(finished(self.athena, query_id)["Status"]["State"], "CANCELLED")

    def test_catalog_metadata_and_work_group(self):
        group = self.athena.get_work_group(WorkGroup="primary")["WorkGroup"]
        self.assertEqual(group["Configuration"]["ResultConfiguration"]["OutputLocation"], self.s3_results)
        self.assertEqual([g["Name"] for g in self.athena.list_work_groups()["WorkGroups"]], ["primary"])
        self.assert_code("InvalidRequestException", self.athena.get_work_group, WorkGroup="nope")
        self.assertEqual([c["CatalogName"] for c in self.athena.list_data_catalogs()["DataCatalogsSummary"]],
                         ["AwsDataCatalog"])
        names = [d["Name"] for d in self.athena.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]]
        self.assertIn("my_glue_database", names)
        tables = self.athena.list_table_metadata(CatalogName="AwsDataCatalog",
                                                 DatabaseName="my_glue_database")["TableMetadataList"]
        self.assertLessEqual({"events", "users"}, {t["Name"] for t in tables})
        users = self.athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="my_glue_database",
                                               TableName="users")["TableMetadata"]
        self.assertEqual([c["Name"] for c in users["Columns"]], ["id", "name", "address"])
        self.assert_code("MetadataException", self.athena.get_table_metadata, CatalogName="AwsDataCatalog",
                         DatabaseName="my_glue_database", TableName="nope")
        self.assert_code("MetadataException", self.athena.get_database, CatalogName="AwsDataCatalog",
                         DatabaseName="nope")

    def test_aws_cli_start_query_execution_and_get_query_results(self):
        out = self.sluice.aws_json("athena", "start-query-execution", "--query-string",
                                   "SELECT name FROM users WHERE id = 2", "--query-execution-context",
                                   "Database=my_glue_database")
        query_id = out["QueryExecutionId"]
        finished(self.athena, query_id)
        results = self.sluice.aws_json("athena", "get-query-results", "--query-execution-id", query_id)
        rows = [[d.get("VarCharValue") for d in r["Data"]] for r in results["ResultSet"]["Rows"]]
        self.assertEqual(rows, [["name"], ["Ervin"]])


if __name__ == "__main__":
    unittest.main()
