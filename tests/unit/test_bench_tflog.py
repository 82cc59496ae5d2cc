"""bench/tflog.py reads a Terraform debug log: the AWS calls the provider made, and how long its waiters polled."""

from __future__ import annotations

from tests.bench_scripts import load_bench

tflog = load_bench("tflog")
PROVIDER = "provider.terraform-provider-aws_v5.100.0_x5"


def _sent(at: str, method: str, req: str, resource: str = "aws_s3_bucket_lifecycle_configuration") -> str:
    return (
        f"2026-12-01T12:00:{at}Z [DEBUG] {PROVIDER}: HTTP Request Sent: rpc.method={method} "
        f'tf_resource_type={resource} tf_rpc=ApplyResourceChange http.user_agent="a b (c)" tf_req_id={req} '
        f"http.request.header.x_amz_transition_default_minimum_object_size=all_storage_classes_128K\n"
        f"  http.request.body=\n  | <Put/>\n   timestamp=2026-12-01T12:00:{at}Z\n"
    )


def _received(at: str, method: str, req: str, status: int, body: str = "<Got/>") -> str:
    return (
        f"2026-12-01T12:00:{at}Z [DEBUG] {PROVIDER}: HTTP Response Received: rpc.method={method} "
        f"tf_resource_type=aws_s3_bucket_lifecycle_configuration\n  http.response.body=\n  | {body}\n"
        f'   http.response.header.date="Tue, 01 Dec 2026 12:00:00 GMT" http.status_code={status} '
        f"tf_rpc=ApplyResourceChange tf_req_id={req}\n"
    )


# A put at 0 s, then the provider's reads: the first 10 s later, then one every 5 s.
LOG = (
    "2026-12-01T12:00:00.000Z [INFO]  Terraform version: 1.11.4\n"
    + _sent("00.000", "PutBucketLifecycleConfiguration", "r1")
    + _received("00.500", "PutBucketLifecycleConfiguration", "r1", 200, "")
    + "".join(
        _sent(f"{10.5 + 5 * i:06.3f}", "GetBucketLifecycleConfiguration", "r1")
        + _received(f"{10.6 + 5 * i:06.3f}", "GetBucketLifecycleConfiguration", "r1", 200)
        for i in range(3)
    )
    + _sent("40.000", "GetBucketLifecycleConfiguration", "other-rpc", "aws_s3_bucket")
)


def test_each_call_is_paired_with_its_response_and_keeps_its_headers_and_bodies() -> None:
    calls = tflog.calls(LOG)
    assert [(c.method, c.status) for c in calls] == [
        ("PutBucketLifecycleConfiguration", 200),
        *[("GetBucketLifecycleConfiguration", 200)] * 3,
        ("GetBucketLifecycleConfiguration", None),  # sent, no response in the log
    ]
    put = calls[0]
    assert put.request_headers["x_amz_transition_default_minimum_object_size"] == "all_storage_classes_128K"
    assert put.request_body == "<Put/>"
    assert calls[1].response_body == "<Got/>"
    assert calls[1].response_headers["date"] == "Tue, 01 Dec 2026 12:00:00 GMT"
    assert (put.sent, put.received) == (0.0, 0.5)
    assert tflog.provider_version(LOG) == "5.100.0"


def test_the_wait_is_timed_from_the_last_write_to_the_last_read_of_the_same_resource() -> None:
    (wait,) = tflog.waits(LOG)
    assert wait.resource_type == "aws_s3_bucket_lifecycle_configuration"
    assert wait.polls == {"GetBucketLifecycleConfiguration": 3}
    assert round(wait.first_after, 3) == 10.0  # 10.5 - 0.5
    assert round(wait.interval, 3) == 5.0
    assert round(wait.seconds, 3) == 20.1  # the last read answered at 20.6


def _sent_body(req: str, lines: list[str], length: int) -> str:
    body = "".join(f"  | {line}\n" for line in lines)
    return (
        f"2026-12-01T12:00:01.000Z [DEBUG] {PROVIDER}: HTTP Request Sent: rpc.method=CreateKey "
        f"tf_resource_type=aws_kms_key tf_rpc=ApplyResourceChange tf_req_id={req}\n"
        f"  http.request.body=\n{body}   http.request_content_length={length} timestamp=2026-12-01T12:00:01Z\n"
    )


def test_the_truncated_mark_goes_only_when_the_body_kept_is_the_whole_of_it() -> None:
    whole = '{"Policy":"{}",\n"Tags":[]}'
    log = _sent_body("k1", [*whole.split("\n"), "[truncated...]"], len(whole)) + _sent_body(
        "k2", ['{"Policy":"{', "[truncated...]"], 4096
    )
    kept, cut = tflog.calls(log)
    assert kept.request_body == whole
    assert cut.request_body == '{"Policy":"{\n[truncated...]'  # really cut: the mark stays


def test_calls_of_two_resources_of_one_type_are_told_apart_by_their_request() -> None:
    log = LOG + LOG.replace("tf_req_id=r1", "tf_req_id=r2").split("\n", 1)[1]
    resources = tflog.by_resource(tflog.applied(tflog.calls(log), "aws_s3_bucket_lifecycle_configuration"))
    assert [len(calls) for calls in resources] == [4, 4]
    assert [{c.request_id for c in calls} for calls in resources] == [{"r1"}, {"r2"}]
    assert tflog.wait_after_last_write(resources[1]).polls == {"GetBucketLifecycleConfiguration": 3}  # type: ignore[union-attr]
