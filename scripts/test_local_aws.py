#!/usr/bin/env python3
"""Self-check for scripts/local-aws: run by hand, `python3 scripts/test_local_aws.py`.

Starts the patched moto server on a free port, drives it with boto3 (dummy
keys, eu-west-1) the way meshsynth's deploy engine drives AWS, and checks
that each fix in scripts/local_aws.py holds. Prints "N passed, N failed" and
exits non-zero if anything failed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
REGION = "eu-west-1"
ACCOUNT = "333333333333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"

results: list[tuple[str, bool, str]] = []


def check(name: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    def run(fn: Callable[[], Any]) -> Callable[[], Any]:
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            detail = f"{type(e).__name__}: {e}"
            if not isinstance(e, AssertionError):
                detail += "\n" + traceback.format_exc(limit=3)
            results.append((name, False, detail))
            print(f"FAIL {name}: {detail}")
        else:
            results.append((name, True, ""))
            print(f"ok   {name}")
        return fn

    return run


def error_of(call: Callable[[], Any]) -> ClientError:
    try:
        call()
    except ClientError as e:
        return e
    raise AssertionError("expected an AWS error, the call succeeded")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"local-aws-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO_")}
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(HERE / "local-aws"), str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return proc, url, log
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not answer within 60 s:\n{log.read_text()}")


def template(bucket: str, alias: str, extra: dict[str, Any] | None = None, outputs: bool = True) -> str:
    body: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Resources": {
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "Description": "mesh key",
                    "EnableKeyRotation": True,
                    "KeyPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "Root",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
                            "Action": "kms:*",
                            "Resource": "*",
                        }],
                    },
                    "Tags": [{"Key": "team", "Value": "shows"}],
                },
            },
            "KeyAlias": {
                "Type": "AWS::KMS::Alias",
                "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": "Key"}},
            },
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Delete",
                "Properties": {
                    "BucketName": {"Fn::Sub": bucket + "-${Env}"},
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}},
                        "BucketKeyEnabled": True,
                    }]},
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True, "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                },
            },
            "BucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "Bucket"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "AccountRead",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
                            "Action": "s3:GetObject",
                            "Resource": {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"},
                        }, {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [{"Fn::Sub": "arn:aws:s3:::${Bucket}"}, {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }],
                    },
                },
            },
            "Db": {
                "Type": "AWS::Glue::Database",
                "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": {"Name": "podcasts_episodes"}},
            },
        },
    }
    if outputs:
        body["Outputs"] = {
            "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-KeyArn"}}},
            "BucketName": {"Value": {"Ref": "Bucket"}},
            "DbName": {"Value": {"Ref": "Db"}},
            "DbPath": {"Value": {"Fn::Sub": "database/${Db}"}},
        }
    if extra:
        body["Resources"].update(extra)
    return json.dumps(body, indent=2)


def main() -> int:
    proc, url, log = start_server()
    print(f"server pid {proc.pid} at {url} (log {log})")
    try:
        run_checks(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    stopped = proc.returncode is not None
    results.append(("server stops on SIGTERM", stopped, ""))
    print(f"{'ok  ' if stopped else 'FAIL'} server stops on SIGTERM (exit {proc.returncode})")
    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    if failed:
        print(f"server log: {log}")
    else:
        log.unlink(missing_ok=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def run_checks(url: str) -> None:
    cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    base = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)

    def client(session: boto3.Session, service: str) -> Any:
        return session.client(service, endpoint_url=url, config=cfg)

    creds: dict[str, str] = {}

    @check("sts: assume OrganizationAccountAccessRole into 333333333333")
    def _() -> None:
        c = client(base, "sts").assume_role(RoleArn=ROLE, RoleSessionName="mesh-deploy")["Credentials"]
        creds.update(c)
        s = boto3.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                          aws_session_token=c["SessionToken"], region_name=REGION)
        ident = client(s, "sts").get_caller_identity()
        assert ident["Account"] == ACCOUNT, ident

    if not creds:
        return
    acct = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=REGION)
    cfn, kms, s3 = client(acct, "cloudformation"), client(acct, "kms"), client(acct, "s3")
    stack = "mesh-baseline"
    body = template("mesh-data-333333333333", "alias/mesh-baseline")
    state: dict[str, Any] = {}

    @check("create + execute a CREATE change set (KMS key, alias, bucket, bucket policy, Glue db)")
    def _() -> None:
        r = cfn.create_change_set(StackName=stack, ChangeSetName="meshsynth-1", ChangeSetType="CREATE", TemplateBody=body)
        assert f":{ACCOUNT}:stack/{stack}/" in r["StackId"], r
        cfn.get_waiter("change_set_create_complete").wait(StackName=stack, ChangeSetName="meshsynth-1",
                                                          WaiterConfig={"Delay": 1, "MaxAttempts": 5})
        d = cfn.describe_change_set(StackName=stack, ChangeSetName="meshsynth-1")
        got = sorted((c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in d["Changes"])
        assert got == [("Add", n) for n in ["Bucket", "BucketPolicy", "Db", "Key", "KeyAlias"]], got
        cfn.execute_change_set(StackName=stack, ChangeSetName="meshsynth-1")
        cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        assert s["StackStatus"] == "CREATE_COMPLETE", s["StackStatus"]
        state["outputs"] = {o["OutputKey"]: o for o in s.get("Outputs", [])}

    @check("stack outputs and exports are populated after execute_change_set")
    def _() -> None:
        outs = state["outputs"]
        assert set(outs) == {"KeyArn", "BucketName", "DbName", "DbPath"}, outs
        assert outs["BucketName"]["OutputValue"] == "mesh-data-333333333333-dev", outs
        assert outs["KeyArn"]["OutputValue"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"), outs
        assert outs["KeyArn"].get("ExportName") == f"{stack}-KeyArn", outs
        assert outs["DbName"]["OutputValue"] == "podcasts_episodes", outs
        assert outs["DbPath"]["OutputValue"] == "database/podcasts_episodes", outs
        exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
        assert exports == {f"{stack}-KeyArn": outs["KeyArn"]["OutputValue"]}, exports

    @check("kms describe_key works and the key is tagged (CFN Key/Value tags)")
    def _() -> None:
        key_id = state["outputs"]["KeyArn"]["OutputValue"].split("/")[-1]
        state["key_id"] = key_id
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        assert meta["AWSAccountId"] == ACCOUNT and meta["KeyState"] == "Enabled", meta
        assert meta["Description"] == "mesh key", meta
        tags = kms.list_resource_tags(KeyId=key_id)["Tags"]
        assert tags == [{"TagKey": "team", "TagValue": "shows"}], tags
        assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
        aliases = [a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]]
        assert aliases == ["alias/mesh-baseline"], aliases

    @check("kms get_key_policy returns the policy as a JSON string (PolicyName default and omitted)")
    def _() -> None:
        for kwargs in ({"PolicyName": "default"}, {}):
            policy = kms.get_key_policy(KeyId=state["key_id"], **kwargs)["Policy"]
            assert isinstance(policy, str), type(policy)
            doc = json.loads(policy)
            assert doc["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT}:root", doc

    @check("s3 get_bucket_policy returns the BucketPolicy resource's document")
    def _() -> None:
        doc = json.loads(s3.get_bucket_policy(Bucket="mesh-data-333333333333-dev")["Policy"])
        assert doc["Statement"][0]["Sid"] == "AccountRead", doc
        assert doc["Statement"][0]["Resource"] == "arn:aws:s3:::mesh-data-333333333333-dev/*", doc

    @check("s3 bucket: public access block, versioning, bucket key from CFN properties")
    def _() -> None:
        b = "mesh-data-333333333333-dev"
        pab = s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
        assert all(pab.values()) and len(pab) == 4, pab
        assert s3.get_bucket_versioning(Bucket=b).get("Status") == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["BucketKeyEnabled"] is True, rule
        s3.put_object(Bucket=b, Key="x.txt", Body=b"hi")
        assert s3.get_object(Bucket=b, Key="x.txt")["Body"].read() == b"hi"
        # empty the (versioned) bucket: a non-empty bucket cannot be replaced later, in AWS neither
        for v in s3.list_object_versions(Bucket=b).get("Versions", []):
            s3.delete_object(Bucket=b, Key=v["Key"], VersionId=v["VersionId"])

    @check("list_stack_resources has a real row for every resource (incl. unsupported Glue type)")
    def _() -> None:
        rows = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
        got = sorted((r["LogicalResourceId"], r["ResourceType"]) for r in rows)
        assert got == [("Bucket", "AWS::S3::Bucket"), ("BucketPolicy", "AWS::S3::BucketPolicy"),
                       ("Db", "AWS::Glue::Database"), ("Key", "AWS::KMS::Key"), ("KeyAlias", "AWS::KMS::Alias")], got
        assert all(r["PhysicalResourceId"] for r in rows), rows
        r = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="Db")["StackResourceDetail"]
        assert r["PhysicalResourceId"] == "podcasts_episodes", r

    @check("the account is isolated: the default account sees neither stack nor key")
    def _() -> None:
        default_cfn = client(base, "cloudformation")
        e = error_of(lambda: default_cfn.describe_stacks(StackName=stack))
        assert e.response["Error"]["Code"] == "ValidationError", e.response
        e = error_of(lambda: client(base, "kms").describe_key(KeyId=state["key_id"]))
        assert e.response["Error"]["Code"] == "NotFoundException", e.response

    @check("delete_change_set on a missing name: ChangeSetNotFound, HTTP 404")
    def _() -> None:
        e = error_of(lambda: cfn.delete_change_set(StackName=stack, ChangeSetName="no-such-change-set"))
        assert e.response["Error"]["Code"] == "ChangeSetNotFound", e.response
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response["ResponseMetadata"]
        e = error_of(lambda: cfn.describe_change_set(StackName=stack, ChangeSetName="no-such-change-set"))
        assert e.response["Error"]["Code"] == "ChangeSetNotFound", e.response

    @check("CREATE change set for an existing stack: AlreadyExistsException, no second stack")
    def _() -> None:
        e = error_of(lambda: cfn.create_change_set(StackName=stack, ChangeSetName="meshsynth-dup",
                                                   ChangeSetType="CREATE", TemplateBody=body))
        assert e.response["Error"]["Code"] == "AlreadyExistsException", e.response
        names = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
        assert names.count(stack) == 1, names

    @check("no-change UPDATE (with Parameters) is FAILED; executing it gives InvalidChangeSetStatus")
    def _() -> None:
        cfn.create_change_set(StackName=stack, ChangeSetName="meshsynth-noop", ChangeSetType="UPDATE",
                              TemplateBody=body, Parameters=[{"ParameterKey": "Env", "ParameterValue": "dev"}])
        d = cfn.describe_change_set(StackName=stack, ChangeSetName="meshsynth-noop")
        assert d["Status"] == "FAILED" and d["ExecutionStatus"] == "UNAVAILABLE", d
        assert "didn't contain changes" in d["StatusReason"], d
        e = error_of(lambda: cfn.execute_change_set(StackName=stack, ChangeSetName="meshsynth-noop"))
        assert e.response["Error"]["Code"] == "InvalidChangeSetStatus", e.response
        assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        cfn.delete_change_set(StackName=stack, ChangeSetName="meshsynth-noop")

    @check("parameter-only UPDATE: Modify for the ${Env} bucket, renamed on execute, policy follows")
    def _() -> None:
        cfn.create_change_set(StackName=stack, ChangeSetName="meshsynth-2", ChangeSetType="UPDATE",
                              TemplateBody=body, Parameters=[{"ParameterKey": "Env", "ParameterValue": "prod"}])
        d = cfn.describe_change_set(StackName=stack, ChangeSetName="meshsynth-2")
        assert d["Status"] == "CREATE_COMPLETE", d
        got = sorted((c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in d["Changes"])
        assert ("Modify", "Bucket") in got, got
        cfn.execute_change_set(StackName=stack, ChangeSetName="meshsynth-2")
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        assert s["StackStatus"] == "UPDATE_COMPLETE", s["StackStatus"]
        outs = {o["OutputKey"]: o["OutputValue"] for o in s["Outputs"]}
        assert outs["BucketName"] == "mesh-data-333333333333-prod", outs
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert names == ["mesh-data-333333333333-prod"], names
        doc = json.loads(s3.get_bucket_policy(Bucket="mesh-data-333333333333-prod")["Policy"])
        assert doc["Statement"][0]["Resource"] == "arn:aws:s3:::mesh-data-333333333333-prod/*", doc

    @check("change sets are scoped to their stack; executing one drops the stack's other change sets")
    def _() -> None:
        other = "mesh-products"
        tpl = json.dumps({"Resources": {"Q": {"Type": "AWS::KMS::Key"}}})
        # the same change-set name as the one just executed in mesh-baseline
        cfn.create_change_set(StackName=other, ChangeSetName="meshsynth-2", ChangeSetType="CREATE", TemplateBody=tpl)
        d = cfn.describe_change_set(StackName=stack, ChangeSetName="meshsynth-2")
        assert d["StackName"] == stack and d["ExecutionStatus"] == "EXECUTE_COMPLETE", d
        d = cfn.describe_change_set(StackName=other, ChangeSetName="meshsynth-2")
        assert d["StackName"] == other and d["ExecutionStatus"] == "AVAILABLE", d
        listed = [c["ChangeSetName"] for c in cfn.list_change_sets(StackName=other)["Summaries"]]
        assert listed == ["meshsynth-2"], listed
        listed = [(c["ChangeSetName"], c["StackName"]) for c in cfn.list_change_sets(StackName=stack)["Summaries"]]
        assert listed == [("meshsynth-2", stack)], listed  # meshsynth-1 went when meshsynth-2 executed
        e = error_of(lambda: cfn.describe_change_set(ChangeSetName="meshsynth-2"))
        assert e.response["Error"]["Code"] == "ValidationError", e.response
        cfn.execute_change_set(StackName=other, ChangeSetName="meshsynth-2")
        # the key has no KeyPolicy: AWS's default policy (account root, kms:*)
        s = cfn.describe_stacks(StackName=other)["Stacks"][0]
        assert s["StackStatus"] == "CREATE_COMPLETE", s
        rid = cfn.describe_stack_resource(StackName=other, LogicalResourceId="Q")["StackResourceDetail"]["PhysicalResourceId"]
        doc = json.loads(kms.get_key_policy(KeyId=rid)["Policy"])
        assert doc["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT}:root", doc
        assert doc["Statement"][0]["Action"] == "kms:*", doc

    @check("Fn::ImportValue in a change-set stack resolves another stack's export")
    def _() -> None:
        tpl = json.dumps({
            "Resources": {"A": {"Type": "AWS::KMS::Alias", "Properties": {
                "AliasName": "alias/imported", "TargetKeyId": {"Fn::ImportValue": f"{stack}-KeyArn"}}}},
        })
        cfn.create_change_set(StackName="mesh-consumer", ChangeSetName="c1", ChangeSetType="CREATE", TemplateBody=tpl)
        cfn.execute_change_set(StackName="mesh-consumer", ChangeSetName="c1")
        s = cfn.describe_stacks(StackName="mesh-consumer")["Stacks"][0]
        assert s["StackStatus"] == "CREATE_COMPLETE", s
        aliases = [a["AliasName"] for a in kms.list_aliases(KeyId=state["key_id"])["Aliases"]]
        assert "alias/imported" in aliases, aliases

    @check("template errors are ValidationErrors from CreateChangeSet, with no stack left behind")
    def _() -> None:
        cases = {
            "{not json": "Template format error",
            json.dumps({"Resources": {}}): "At least one Resources member must be defined",
            json.dumps({"Resources": {"A": {"Type": "AWS::KMS::Alias", "Properties": {
                "AliasName": "alias/x", "TargetKeyId": {"Ref": "Nope"}}}}}): "Unresolved resource dependencies [Nope]",
            json.dumps({"Parameters": {"P": {"Type": "String"}}, "Resources": {"K": {"Type": "AWS::KMS::Key"}}}):
                "Parameters: [P] must have values",
            json.dumps({"Resources": {"G": {"Type": "AWS::Glue::ResourcePolicy", "Properties": {}}}}):
                "Unrecognized resource types: [AWS::Glue::ResourcePolicy]",
        }
        for i, (tpl, message) in enumerate(cases.items()):
            e = error_of(lambda: cfn.create_change_set(StackName=f"mesh-bad-{i}", ChangeSetName="c",
                                                       ChangeSetType="CREATE", TemplateBody=tpl))
            assert e.response["Error"]["Code"] == "ValidationError", e.response
            assert message in e.response["Error"]["Message"], e.response["Error"]["Message"]
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        names = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
        assert not [n for n in names if n.startswith("mesh-bad-")], names

    @check("a failing CREATE: ExecuteChangeSet succeeds, stack ends ROLLBACK_COMPLETE, event names the resource")
    def _() -> None:
        # the bucket name is taken (by mesh-baseline): BucketAlreadyExists at execute time
        tpl = json.dumps({"Resources": {
            "K": {"Type": "AWS::KMS::Key"},
            "B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "mesh-data-333333333333-prod"}},
        }})
        def key_states() -> dict[str, str]:
            return {k["KeyId"]: kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"]
                    for k in kms.list_keys()["Keys"]}

        keys_before = key_states()
        cfn.create_change_set(StackName="mesh-broken", ChangeSetName="c1", ChangeSetType="CREATE", TemplateBody=tpl)
        cfn.execute_change_set(StackName="mesh-broken", ChangeSetName="c1")
        s = cfn.describe_stacks(StackName="mesh-broken")["Stacks"][0]
        assert s["StackStatus"] == "ROLLBACK_COMPLETE", s["StackStatus"]
        events = cfn.describe_stack_events(StackName="mesh-broken")["StackEvents"]
        failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
        assert failed and failed[0]["LogicalResourceId"] == "B", events
        assert "BucketAlreadyExists" in failed[0].get("ResourceStatusReason", "") or failed[0].get("ResourceStatusReason"), failed
        d = cfn.describe_change_set(StackName="mesh-broken", ChangeSetName="c1")
        assert d["ExecutionStatus"] == "EXECUTE_FAILED", d["ExecutionStatus"]
        new_keys = {k: v for k, v in key_states().items() if k not in keys_before}
        assert list(new_keys.values()) == ["PendingDeletion"], new_keys  # K was rolled back

    @check("the failing CREATE above: the stack_create_complete waiter fails at once; delete_stack removes it")
    def _() -> None:
        from botocore.exceptions import WaiterError
        try:
            cfn.get_waiter("stack_create_complete").wait(StackName="mesh-broken", WaiterConfig={"Delay": 1, "MaxAttempts": 2})
        except WaiterError as e:
            assert "ROLLBACK_COMPLETE" in str(e) or "failure" in str(e).lower(), str(e)
        else:
            raise AssertionError("stack_create_complete waiter succeeded on a failed stack")
        cfn.delete_stack(StackName="mesh-broken")
        e = error_of(lambda: cfn.describe_stacks(StackName="mesh-broken"))
        assert e.response["Error"]["Code"] == "ValidationError"

    @check("a failing UPDATE ends UPDATE_ROLLBACK_COMPLETE with the old template; next change set diffs against it")
    def _() -> None:
        before = cfn.get_template(StackName=stack)["TemplateBody"]
        broken = template("mesh-data-333333333333", "alias/mesh-baseline", extra={
            "Dup": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "mesh-data-333333333333-prod"}},
        })
        cfn.create_change_set(StackName=stack, ChangeSetName="meshsynth-3", ChangeSetType="UPDATE", TemplateBody=broken,
                              Parameters=[{"ParameterKey": "Env", "ParameterValue": "prod"}])
        cfn.execute_change_set(StackName=stack, ChangeSetName="meshsynth-3")
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        assert s["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE", s["StackStatus"]
        assert cfn.get_template(StackName=stack)["TemplateBody"] == before
        cfn.create_change_set(StackName=stack, ChangeSetName="meshsynth-4", ChangeSetType="UPDATE", TemplateBody=body,
                              Parameters=[{"ParameterKey": "Env", "ParameterValue": "prod"}])
        d = cfn.describe_change_set(StackName=stack, ChangeSetName="meshsynth-4")
        assert d["Status"] == "FAILED", (d["Status"], d.get("Changes"))

    @check("modifying a KMS key updates it in place (row and alias intact)")
    def _() -> None:
        tpl = json.loads(body)
        tpl["Resources"]["Key"]["Properties"]["Description"] = "mesh key v2"
        tpl["Resources"]["Key"]["Properties"]["Tags"] = [{"Key": "team", "Value": "news"}]
        cfn.create_change_set(StackName=stack, ChangeSetName="meshsynth-5", ChangeSetType="UPDATE",
                              TemplateBody=json.dumps(tpl), Parameters=[{"ParameterKey": "Env", "ParameterValue": "prod"}])
        cfn.execute_change_set(StackName=stack, ChangeSetName="meshsynth-5")
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        assert s["StackStatus"] == "UPDATE_COMPLETE", s["StackStatus"]
        meta = kms.describe_key(KeyId=state["key_id"])["KeyMetadata"]
        assert meta["Description"] == "mesh key v2", meta
        assert kms.list_resource_tags(KeyId=state["key_id"])["Tags"] == [{"TagKey": "team", "TagValue": "news"}]
        rows = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
        assert rows.get("Key") == state["key_id"], rows

    @check("IAM resources need Capabilities: InsufficientCapabilitiesException without them")
    def _() -> None:
        role = {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "mesh-reader",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
                "Action": "sts:AssumeRole"}]}}}
        tpl = json.dumps({"Resources": {"Reader": role}})
        for caps in ([], ["CAPABILITY_IAM"]):
            e = error_of(lambda: cfn.create_change_set(StackName="mesh-roles", ChangeSetName="c1", ChangeSetType="CREATE",
                                                       TemplateBody=tpl, Capabilities=caps))
            assert e.response["Error"]["Code"] == "InsufficientCapabilitiesException", e.response
            assert "CAPABILITY_NAMED_IAM" in e.response["Error"]["Message"], e.response
        cfn.create_change_set(StackName="mesh-roles", ChangeSetName="c1", ChangeSetType="CREATE",
                              TemplateBody=tpl, Capabilities=["CAPABILITY_NAMED_IAM"])
        cfn.execute_change_set(StackName="mesh-roles", ChangeSetName="c1")
        assert cfn.describe_stacks(StackName="mesh-roles")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        assert client(acct, "iam").get_role(RoleName="mesh-reader")["Role"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/mesh-reader"

    @check("validate_template: parameters and capabilities, no lint warnings as errors")
    def _() -> None:
        r = cfn.validate_template(TemplateBody=body)
        assert [p["ParameterKey"] for p in r["Parameters"]] == ["Env"], r
        assert r["Parameters"][0]["DefaultValue"] == "dev", r
        assert r.get("Capabilities", []) == [], r
        tpl = json.dumps({"Parameters": {"Unused": {"Type": "String"}}, "Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}}}})
        r = cfn.validate_template(TemplateBody=tpl)
        assert r["Capabilities"] == ["CAPABILITY_IAM"], r
        e = error_of(lambda: cfn.validate_template(TemplateBody=json.dumps({"Resources": {"A": {
            "Type": "AWS::KMS::Alias", "Properties": {"TargetKeyId": {"Fn::GetAtt": ["Missing", "Arn"]}}}}})))
        assert "Unresolved resource dependencies [Missing]" in e.response["Error"]["Message"], e.response

    @check("get_template_summary works without AWSTemplateFormatVersion")
    def _() -> None:
        r = cfn.get_template_summary(TemplateBody=json.dumps({"Resources": {"K": {"Type": "AWS::KMS::Key"}}}))
        assert r["ResourceTypes"] == ["AWS::KMS::Key"], r

    @check("stack policy: an update removing a protected resource rolls back; NotResource lifts it")
    def _() -> None:
        name = "guarded"
        keep = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "guarded-keep-333333333333"}}
        gone = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "guarded-gone-333333333333"}}
        cfn.create_change_set(StackName=name, ChangeSetName="c1", ChangeSetType="CREATE",
                              TemplateBody=json.dumps({"Resources": {"Keep": keep, "Gone": gone}}))
        cfn.execute_change_set(StackName=name, ChangeSetName="c1")
        deny = {"Effect": "Deny", "Principal": "*", "Action": ["Update:Replace", "Update:Delete"], "Resource": "*",
                "Condition": {"StringEquals": {"ResourceType": ["AWS::S3::Bucket"]}}}
        allow = {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"}
        cfn.set_stack_policy(StackName=name, StackPolicyBody=json.dumps({"Statement": [allow, deny]}))
        smaller = json.dumps({"Resources": {"Keep": keep}})
        cfn.create_change_set(StackName=name, ChangeSetName="c2", ChangeSetType="UPDATE", TemplateBody=smaller)
        cfn.execute_change_set(StackName=name, ChangeSetName="c2")
        st = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert st["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE", st
        lifted = dict(deny)
        del lifted["Resource"]
        lifted["NotResource"] = ["LogicalResourceId/Gone"]
        cfn.set_stack_policy(StackName=name, StackPolicyBody=json.dumps({"Statement": [allow, lifted]}))
        cfn.create_change_set(StackName=name, ChangeSetName="c3", ChangeSetType="UPDATE", TemplateBody=smaller)
        cfn.execute_change_set(StackName=name, ChangeSetName="c3")
        st = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert st["StackStatus"] == "UPDATE_COMPLETE", st

    @check("termination protection: UpdateTerminationProtection, DescribeStacks shows it, DeleteStack refused")
    def _() -> None:
        name = "guarded"
        r = cfn.update_termination_protection(StackName=name, EnableTerminationProtection=True)
        assert ":stack/guarded/" in r["StackId"], r
        assert cfn.describe_stacks(StackName=name)["Stacks"][0]["EnableTerminationProtection"] is True
        e = error_of(lambda: cfn.delete_stack(StackName=name))
        assert "cannot be deleted while TerminationProtection is enabled" in str(e), e
        cfn.update_termination_protection(StackName=name, EnableTerminationProtection=False)
        cfn.delete_stack(StackName=name)
        assert all(s["StackName"] != name for s in cfn.describe_stacks()["Stacks"])

    @check("GET /moto-api/meshsynth/calls counts the calls served, by action")
    def _() -> None:
        with urllib.request.urlopen(f"{url}/moto-api/meshsynth/calls", timeout=5) as r:
            calls = json.loads(r.read())
        assert calls.get("UpdateTerminationProtection") == 2, calls
        assert calls.get("AssumeRole", 0) >= 1, calls

    @check("IAM::Role: inline policies read back as JSON; an update puts trust and inline policies")
    def _() -> None:
        iam = client(acct, "iam")

        def role_template(action: str, extra: bool) -> str:
            policies = [{"PolicyName": "read", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": action, "Resource": "*"}]}}]
            if extra:
                policies.append({"PolicyName": "extra", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}})
            return json.dumps({"Resources": {"Reader": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": "mesh-drift-reader",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Sid": action.replace(":", "")}]},
                "Policies": policies}}}})

        cfn.create_stack(StackName="mesh-drift-roles", TemplateBody=role_template("s3:GetObject", True),
                         Capabilities=["CAPABILITY_NAMED_IAM"])
        doc = iam.get_role_policy(RoleName="mesh-drift-reader", PolicyName="read")["PolicyDocument"]
        assert doc["Statement"][0]["Action"] == "s3:GetObject", doc
        cfn.update_stack(StackName="mesh-drift-roles", TemplateBody=role_template("s3:GetObjectVersion", False),
                         Capabilities=["CAPABILITY_NAMED_IAM"])
        doc = iam.get_role_policy(RoleName="mesh-drift-reader", PolicyName="read")["PolicyDocument"]
        assert doc["Statement"][0]["Action"] == "s3:GetObjectVersion", doc
        assert iam.list_role_policies(RoleName="mesh-drift-reader")["PolicyNames"] == ["read"]
        trust = iam.get_role(RoleName="mesh-drift-reader")["Role"]["AssumeRolePolicyDocument"]
        assert trust["Statement"][0]["Sid"] == "s3GetObjectVersion", trust
        cfn.delete_stack(StackName="mesh-drift-roles")

    @check("drift detection is not offered: InvalidAction (HTTP 400), not a crash")
    def _() -> None:
        for call in (lambda: cfn.detect_stack_drift(StackName=stack),
                     lambda: cfn.describe_stack_drift_detection_status(StackDriftDetectionId="x"),
                     lambda: cfn.describe_stack_resource_drifts(StackName=stack)):
            e = error_of(call)
            assert e.response["Error"]["Code"] == "InvalidAction", e.response
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response

    @check("SSO::PermissionSet: created with its inline policy (ARN as physical id), updated, deleted")
    def _() -> None:
        sso = client(acct, "sso-admin")
        instance = "arn:aws:sso:::instance/ssoins-0123456789abcdef"

        def ps_template(action: str) -> str:
            return json.dumps({"Resources": {
                "Set": {"Type": "AWS::SSO::PermissionSet", "Properties": {
                    "Name": "readers", "InstanceArn": instance,
                    "InlinePolicy": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": action, "Resource": "*"}]}}},
                "Assign": {"Type": "AWS::SSO::Assignment", "Properties": {
                    "InstanceArn": instance, "PermissionSetArn": {"Fn::GetAtt": ["Set", "PermissionSetArn"]},
                    "PrincipalId": "group-1", "PrincipalType": "GROUP",
                    "TargetId": ACCOUNT, "TargetType": "AWS_ACCOUNT"}}}})

        cfn.create_stack(StackName="mesh-identity", TemplateBody=ps_template("s3:GetObject"))
        rows = cfn.describe_stack_resources(StackName="mesh-identity")["StackResources"]
        arn = next(r["PhysicalResourceId"] for r in rows if r["LogicalResourceId"] == "Set")
        policy = sso.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)
        assert json.loads(policy["InlinePolicy"])["Statement"][0]["Action"] == "s3:GetObject", policy
        cfn.update_stack(StackName="mesh-identity", TemplateBody=ps_template("s3:ListBucket"))
        policy = sso.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)
        assert json.loads(policy["InlinePolicy"])["Statement"][0]["Action"] == "s3:ListBucket", policy
        cfn.delete_stack(StackName="mesh-identity")
        e = error_of(lambda: sso.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=arn))
        assert e.response["Error"]["Code"] == "ResourceNotFoundException", e.response

    @check("delete_stack: bucket policy and bucket gone, key PendingDeletion, exports and change sets dropped")
    def _() -> None:
        cfn.delete_stack(StackName="mesh-consumer")
        cfn.delete_stack(StackName=stack)
        e = error_of(lambda: cfn.describe_stacks(StackName=stack))
        assert e.response["Error"]["Code"] == "ValidationError"
        buckets = s3.list_buckets()["Buckets"]
        assert buckets == [], buckets
        assert kms.describe_key(KeyId=state["key_id"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
        assert cfn.list_exports()["Exports"] == []
        assert cfn.list_change_sets(StackName=stack)["Summaries"] == []


if __name__ == "__main__":
    sys.exit(main())
