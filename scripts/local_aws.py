#!/usr/bin/env python3
"""Local AWS for meshsynth's tests and demos: moto server plus fixes.

Run through `scripts/local-aws PORT`, which installs moto first if needed.
This module imports moto, patches the quirks listed in
shared/notes/moto.md so that moto behaves like AWS where a deploy engine can
see the difference, and then serves every AWS API on 127.0.0.1:PORT.

The rule is "fix the emulator, never the templates": templates stay in the
form real CloudFormation expects (KeyPolicy as an object, Tags as Key/Value,
S3::BucketPolicy, ...), and moto is taught to accept them.

Every patch is written against moto 5.2.1. Each one first checks that the
moto internals it hooks into are still there with the expected signature, and
the server refuses to start (exit 3, with the reason) if one is not, rather
than serving with a fix silently missing.

Requests are served one at a time (a global lock around the WSGI app):
clients may deploy in parallel, but moto's backends are not thread-safe, and
each call takes only milliseconds.
"""

from __future__ import annotations

import copy
import inspect
import io
import json
import os
import re
import signal
import sys
import threading
import urllib.parse
from typing import Any, Callable

TESTED_MOTO_VERSION = "5.2.1"


class PatchError(RuntimeError):
    """moto's internals are not what a patch expects."""


def _hook(owner: Any, name: str, params: list[str] | None = None) -> Any:
    """Return owner.name after checking it exists and, if given, its parameters.

    This is what makes a changed moto fail loudly at startup.
    """
    where = getattr(owner, "__name__", repr(owner))
    if not hasattr(owner, name):
        raise PatchError(f"{where}.{name} does not exist")
    obj = getattr(owner, name)
    if params is not None:
        func = obj.__func__ if hasattr(obj, "__func__") else obj
        got = list(inspect.signature(func).parameters)
        if got[: len(params)] != params:
            raise PatchError(f"{where}.{name} has parameters {got}, expected {params}")
    return obj


# ---------------------------------------------------------------------------
# imports of moto internals (all checked)
# ---------------------------------------------------------------------------


def _import_moto() -> dict[str, Any]:
    import moto
    from moto.cloudformation import exceptions as cfn_exc
    from moto.cloudformation import models as cfn_models
    from moto.cloudformation import parsing as cfn_parsing
    from moto.cloudformation import responses as cfn_responses
    from moto.cloudformation import utils as cfn_utils
    from moto.kms import models as kms_models
    from moto.kms import responses as kms_responses
    from moto.s3 import models as s3_models
    from moto.utilities import utils as moto_utils

    if moto.__version__ != TESTED_MOTO_VERSION:
        print(
            f"local-aws: warning: moto {moto.__version__} is installed; these patches "
            f"were written for {TESTED_MOTO_VERSION}",
            file=sys.stderr,
        )
    return {
        "moto": moto,
        "exc": cfn_exc,
        "models": cfn_models,
        "parsing": cfn_parsing,
        "responses": cfn_responses,
        "cfn_utils": cfn_utils,
        "kms": kms_models,
        "kms_responses": kms_responses,
        "s3": s3_models,
        "utils": moto_utils,
    }


# ---------------------------------------------------------------------------
# CloudFormation errors that moto lacks (codes from the botocore model, so
# moto's serialiser gives them the right HTTP status: 404 for ChangeSetNotFound)
# ---------------------------------------------------------------------------


def _make_errors(m: dict[str, Any]) -> dict[str, type]:
    base = _hook(m["exc"], "CloudFormationError")

    class ChangeSetNotFound(base):  # type: ignore[misc, valid-type]
        code = "ChangeSetNotFound"

    class InvalidChangeSetStatus(base):  # type: ignore[misc, valid-type]
        code = "InvalidChangeSetStatus"

    class InsufficientCapabilities(base):  # type: ignore[misc, valid-type]
        code = "InsufficientCapabilitiesException"

    class InvalidAction(base):  # type: ignore[misc, valid-type]
        code = "InvalidAction"

    return {
        "ChangeSetNotFound": ChangeSetNotFound,
        "InvalidChangeSetStatus": InvalidChangeSetStatus,
        "InsufficientCapabilities": InsufficientCapabilities,
        "InvalidAction": InvalidAction,
        "AlreadyExists": _hook(m["exc"], "AlreadyExistsException"),
        "ValidationError": _hook(m["exc"], "ValidationError"),
    }


# ---------------------------------------------------------------------------
# template helpers
# ---------------------------------------------------------------------------

PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}

_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub_variables(text: str) -> list[str]:
    """Names used by `${X}` / `${X.Attr}` in an Fn::Sub string (not `${!X}`)."""
    return [v.strip() for v in _SUB_VAR.findall(text)]


def _references(node: Any) -> tuple[set[str], set[str]]:
    """(names used by Ref and ${X}, resources used by GetAtt and ${X.Attr})."""
    refs: set[str] = set()
    getatts: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for key, value in x.items():
                if key == "Ref" and isinstance(value, str):
                    refs.add(value)
                elif key == "Fn::GetAtt":
                    if isinstance(value, list) and value and isinstance(value[0], str):
                        getatts.add(value[0])
                    elif isinstance(value, str):
                        getatts.add(value.split(".")[0])
                    else:
                        walk(value)
                elif key == "Fn::Sub":
                    text, local = None, set()
                    if isinstance(value, str):
                        text = value
                    elif isinstance(value, list) and value and isinstance(value[0], str):
                        text = value[0]
                        if len(value) > 1 and isinstance(value[1], dict):
                            local = set(value[1])
                            walk(value[1])
                    else:
                        walk(value)
                    for var in _sub_variables(text or ""):
                        if var in local:
                            continue
                        if "." in var and not var.startswith("AWS::"):
                            getatts.add(var.split(".")[0])
                        else:
                            refs.add(var)
                else:
                    walk(value)
        elif isinstance(x, list):
            for item in x:
                walk(item)

    walk(node)
    return refs, getatts


_resource_types: dict[str, frozenset[str]] = {}
_resource_types_lock = threading.Lock()


def known_resource_types(region: str) -> frozenset[str] | None:
    """Every resource type CloudFormation has in `region`, from cfn-lint's
    copy of the registry schemas (cfn-lint comes with moto[server]).
    None if cfn-lint cannot say, and then types are not checked."""
    with _resource_types_lock:
        if region not in _resource_types:
            try:
                from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

                try:
                    types = PROVIDER_SCHEMA_MANAGER.get_resource_types(region=region)
                except Exception:  # noqa: BLE001 - a region cfn-lint does not know yet
                    types = PROVIDER_SCHEMA_MANAGER.get_resource_types(region="us-east-1")
                _resource_types[region] = frozenset(types)
            except Exception as e:  # noqa: BLE001
                print(f"local-aws: warning: resource types are not checked ({e})", file=sys.stderr)
                _resource_types[region] = frozenset()
        return _resource_types[region] or None


def _parse_template_text(models: Any, text: Any) -> Any:
    return _hook(models.Stack, "parse_template")(text)


# ---------------------------------------------------------------------------
# 1. AWS::KMS::Key
# ---------------------------------------------------------------------------


def patch_kms(m: dict[str, Any]) -> None:
    kms = m["kms"]
    Key = _hook(kms, "Key")
    backends = _hook(kms, "kms_backends")
    _hook(kms.KmsBackend, "create_key", ["self", "policy", "key_usage", "key_spec", "description", "tags"])
    _hook(Key, "generate_default_policy")
    orig_create = _hook(
        Key, "create_from_cloudformation_json",
        ["cls", "resource_name", "cloudformation_json", "account_id", "region_name"],
    ).__func__

    def normalise(props: dict[str, Any]) -> dict[str, Any]:
        props = dict(props)
        # moto.md §2 "KMS::Key notes": KeyPolicy given as a JSON object (the
        # normal CloudFormation form) is stored as a dict, so describe_key
        # gives HTTP 500 and get_key_policy returns an object. Store a string.
        policy = props.get("KeyPolicy")
        if isinstance(policy, (dict, list)):
            props["KeyPolicy"] = json.dumps(policy)
        # moto.md §2: omitting KeyPolicy gives HTTP 500 (KeyError). AWS then
        # applies the default key policy (account root may do kms:*), which
        # moto's Key builds itself when the policy is None.
        if not props.get("KeyPolicy"):
            props["KeyPolicy"] = None
        # moto.md §2: Tags in the CloudFormation form [{Key, Value}] give
        # HTTP 500 (KeyError 'TagKey'); the KMS API form is TagKey/TagValue.
        props["Tags"] = [
            {"TagKey": t.get("TagKey", t.get("Key")), "TagValue": t.get("TagValue", t.get("Value"))}
            for t in props.get("Tags") or []
        ]
        return props

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        cfn = dict(cloudformation_json)
        props = normalise(cfn.get("Properties") or {})
        cfn["Properties"] = props
        key = orig_create(cls, resource_name, cfn, account_id, region_name, **kwargs)
        # moto sets key.enabled from `Enabled: false` but leaves KeyState
        # "Enabled"; AWS reports the key as Disabled.
        if props.get("Enabled") is False or str(props.get("Enabled")).lower() == "false":
            backends[account_id][region_name].disable_key(key.id)
        key._local_aws_pending_window = int(props.get("PendingWindowInDays") or 30)
        return key

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        # moto.md §2 "How skipped types behave": KMS::Key has no update
        # handler, so modifying a key blanked its stack-resource row and broke
        # every later Ref to it. Update the key in place, as AWS does for
        # these properties (KeyUsage/KeySpec changes would replace it in AWS).
        backend = backends[account_id][region_name]
        props = normalise(cloudformation_json.get("Properties") or {})
        key = original_resource
        key.policy = props["KeyPolicy"] or key.generate_default_policy()
        key.description = props.get("Description") or ""
        if "EnableKeyRotation" in props:
            key.key_rotation_status = props["EnableKeyRotation"] in (True, "true", "True")
        enabled = not (props.get("Enabled") is False or str(props.get("Enabled")).lower() == "false")
        if enabled and not key.enabled:
            backend.enable_key(key.id)
        elif not enabled and key.enabled:
            backend.disable_key(key.id)
        backend.tagger.delete_all_tags_for_resource(key.id)
        if props["Tags"]:
            backend.tagger.tag_resource(key.id, props["Tags"])
        key._local_aws_pending_window = int(props.get("PendingWindowInDays") or 30)
        return key

    def delete(self, account_id, region_name):  # type: ignore[no-untyped-def]
        # moto.md §2: delete_stack removed the key outright. AWS schedules the
        # deletion (PendingDeletion, PendingWindowInDays, default 30).
        backend = backends[account_id][region_name]
        if self.id in backend.keys:
            backend.schedule_key_deletion(self.id, getattr(self, "_local_aws_pending_window", 30))

    orig_has_attr = _hook(Key, "has_cfn_attr").__func__
    orig_get_attr = _hook(Key, "get_cfn_attribute")

    def has_cfn_attr(cls, attr):  # type: ignore[no-untyped-def]
        return attr == "KeyId" or orig_has_attr(cls, attr)

    def get_cfn_attribute(self, attribute_name):  # type: ignore[no-untyped-def]
        # AWS::KMS::Key has GetAtt KeyId as well as Arn; moto only knew Arn.
        if attribute_name == "KeyId":
            return self.id
        return orig_get_attr(self, attribute_name)

    _hook(Key, "delete", ["self", "account_id", "region_name"])
    _hook(kms.KmsBackend, "schedule_key_deletion", ["self", "key_id", "pending_window_in_days"])
    Key.create_from_cloudformation_json = classmethod(create)
    Key.update_from_cloudformation_json = classmethod(update)
    Key.delete = delete
    Key.has_cfn_attr = classmethod(has_cfn_attr)
    Key.get_cfn_attribute = get_cfn_attribute

    # AWS::KMS::Alias: changing AliasName replaces the alias in AWS; moto
    # looked the new name up among existing aliases and crashed (KeyError).
    Alias = _hook(kms, "Alias")
    orig_alias_update = _hook(
        Alias, "update_from_cloudformation_json",
        ["cls", "original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"],
    ).__func__

    def alias_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        props = cloudformation_json["Properties"]
        if props.get("AliasName") != original_resource.alias_name:
            backend = backends[account_id][region_name]
            backend.delete_alias(original_resource.alias_name)
            return backend.create_alias(alias_name=props["AliasName"], target_key_id=props["TargetKeyId"])
        return orig_alias_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)

    Alias.update_from_cloudformation_json = classmethod(alias_update)

    # moto.md §6: moto's GetKeyPolicy without PolicyName gives NotFound; the
    # real API defaults PolicyName to "default" (so does PutKeyPolicy).
    kms_responses = m["kms_responses"]
    orig_assert = _hook(kms_responses, "_assert_default_policy", ["policy_name"])

    def assert_default_policy(policy_name):  # type: ignore[no-untyped-def]
        if policy_name is None or policy_name == "":
            return
        orig_assert(policy_name)

    kms_responses._assert_default_policy = assert_default_policy


# ---------------------------------------------------------------------------
# 2. AWS::S3::BucketPolicy, and S3::Bucket properties moto ignored
# ---------------------------------------------------------------------------


def patch_s3(m: dict[str, Any]) -> dict[str, type]:
    s3 = m["s3"]
    parsing = m["parsing"]
    s3_backends = _hook(s3, "s3_backends")
    get_partition = _hook(m["utils"], "get_partition")
    for name in ("put_bucket_policy", "delete_bucket_policy", "put_bucket_versioning",
                 "put_public_access_block", "get_bucket"):
        _hook(s3.S3Backend, name, ["self", "bucket_name"])

    def backend(account_id: str, region_name: str) -> Any:
        return s3_backends[account_id][get_partition(region_name)]

    def as_policy_bytes(document: Any) -> bytes:
        if isinstance(document, (bytes, bytearray)):
            return bytes(document)
        if isinstance(document, str):
            return document.encode()
        return json.dumps(document).encode()

    class BucketPolicy:
        """AWS::S3::BucketPolicy (moto.md §2: silently skipped by moto, so
        get_bucket_policy gave NoSuchBucketPolicy). Puts the policy on the
        bucket, replaces it on update, removes it on delete."""

        def __init__(self, physical_id: str, bucket: str, document: Any) -> None:
            self.physical_id = physical_id
            self.bucket = bucket
            self.document = document

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::BucketPolicy"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return False

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            raise _hook(m["exc"], "UnformattedGetAttTemplateException")()

        def is_created(self) -> bool:
            return True

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
            props = cloudformation_json.get("Properties") or {}
            bucket, document = props["Bucket"], props["PolicyDocument"]
            backend(account_id, region_name).put_bucket_policy(bucket, as_policy_bytes(document))
            return cls(resource_name, bucket, document)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
            props = cloudformation_json.get("Properties") or {}
            if props["Bucket"] != original_resource.bucket:
                original_resource.delete(account_id, region_name)
            backend(account_id, region_name).put_bucket_policy(props["Bucket"], as_policy_bytes(props["PolicyDocument"]))
            original_resource.bucket = props["Bucket"]
            original_resource.document = props["PolicyDocument"]
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
            props = cloudformation_json.get("Properties") or {}
            try:
                backend(account_id, region_name).delete_bucket_policy(props.get("Bucket"))
            except Exception:
                pass  # the bucket is already gone: nothing to delete

        def delete(self, account_id: str, region_name: str) -> None:
            try:
                backend(account_id, region_name).delete_bucket_policy(self.bucket)
            except Exception:
                pass  # the bucket is already gone: nothing to delete

    # Bucket policies now really reach the bucket, so moto's policy check on
    # object calls matters. moto treats a Condition it cannot evaluate (any
    # operator but StringEquals, or a key the request does not carry) as
    # matched, and an unmatched one as DENIED even for an Allow. So the usual
    # "Deny s3:* when aws:SecureTransport is false" statement made every
    # GetObject/PutObject a 403. Here a statement whose condition does not
    # match does not apply, as in IAM, and a Deny applies only when moto can
    # actually evaluate its condition.
    from moto.iam import access_control, policy_conditions

    Statement = _hook(access_control, "IAMPolicyStatement")
    neutral = _hook(access_control, "PermissionResult").NEUTRAL
    operations = _hook(policy_conditions, "CONDITION_OPERATIONS")
    _hook(Statement, "_check_conditions", ["self", "incoming_condition_values"])
    orig_permitted = _hook(
        Statement, "is_action_permitted",
        ["self", "action", "resource", "principal", "incoming_condition_values"],
    )

    def evaluable(condition: Any, incoming: Any) -> bool:
        if not isinstance(condition, dict):
            return False
        for operator, values in condition.items():
            if operator not in operations or not isinstance(values, dict):
                return False
            if any(not incoming or key not in incoming for key in values):
                return False
        return True

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):  # type: ignore[no-untyped-def]
        condition = self._statement.get("Condition")
        if condition:
            if self._statement.get("Effect") == "Deny" and not evaluable(condition, incoming_condition_values):
                return neutral
            if not self._check_conditions(incoming_condition_values):
                return neutral
        return orig_permitted(self, action, resource, principal, incoming_condition_values)

    Statement.is_action_permitted = is_action_permitted

    # S3::Bucket (moto.md §2): PublicAccessBlockConfiguration and
    # VersioningConfiguration were ignored, BucketKeyEnabled came back false,
    # and an update of a bucket without an explicit BucketName but with Tags
    # crashed (moto reads properties["BucketName"]).
    FakeBucket = _hook(s3, "FakeBucket")
    orig_b_create = _hook(
        FakeBucket, "create_from_cloudformation_json",
        ["cls", "resource_name", "cloudformation_json", "account_id", "region_name"],
    ).__func__
    orig_b_update = _hook(
        FakeBucket, "update_from_cloudformation_json",
        ["cls", "original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"],
    ).__func__

    def apply_extras(bucket: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
        be = backend(account_id, region_name)
        pab = props.get("PublicAccessBlockConfiguration")
        if pab:
            be.put_public_access_block(bucket.name, {k: str(v).lower() for k, v in pab.items()})
        versioning = (props.get("VersioningConfiguration") or {}).get("Status")
        if versioning:
            be.put_bucket_versioning(bucket.name, versioning)
        rules = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        if rules and isinstance(getattr(bucket, "encryption", None), dict) and "BucketKeyEnabled" in rules[0]:
            bucket.encryption["Rule"]["BucketKeyEnabled"] = str(rules[0]["BucketKeyEnabled"]).lower() == "true"

    def b_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        bucket = orig_b_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        apply_extras(bucket, cloudformation_json.get("Properties") or {}, account_id, region_name)
        return bucket

    def b_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        cfn = copy.deepcopy(cloudformation_json)
        props = cfn.setdefault("Properties", {})
        props.setdefault("BucketName", original_resource.name)
        bucket = orig_b_update(cls, original_resource, new_resource_name, cfn, account_id, region_name)
        apply_extras(bucket, props, account_id, region_name)
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(b_create)
    FakeBucket.update_from_cloudformation_json = classmethod(b_update)
    return {"AWS::S3::BucketPolicy": BucketPolicy}


# ---------------------------------------------------------------------------
# 2a. AWS::IAM::Role: inline policies as JSON, updates of trust and policies
# ---------------------------------------------------------------------------


def patch_iam(m: dict[str, Any]) -> None:
    """AWS::IAM::Role, found while building `meshsynth drift`:

    * inline `Policies` given as objects (the normal CloudFormation form) were
      stored as Python dicts, so GetRolePolicy returned their Python repr
      (`{'Statement': [...]}`), which is not JSON;
    * an update changed only the description: a new trust policy or changed
      inline policies never reached the role.

    Documents are stored as JSON text, and an update puts the trust policy
    and the inline policies (removing those the template no longer has)."""
    from moto.iam import models as iam_models

    Role = _hook(iam_models, "Role")
    _hook(Role, "put_policy", ["self", "policy_name", "policy_json"])
    _hook(Role, "delete_policy", ["self", "policy_name"])
    orig_create = _hook(
        Role, "create_from_cloudformation_json",
        ["cls", "resource_name", "cloudformation_json", "account_id", "region_name"],
    ).__func__
    orig_update = _hook(
        Role, "update_from_cloudformation_json",
        ["cls", "original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"],
    ).__func__

    def as_text(document: Any) -> str:
        return document if isinstance(document, str) else json.dumps(document)

    def with_text_policies(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
        cfn = copy.deepcopy(cloudformation_json)
        props = cfn.setdefault("Properties", {})
        props["Policies"] = [
            dict(p, PolicyDocument=as_text(p.get("PolicyDocument"))) for p in props.get("Policies") or []
        ]
        return cfn

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
        return orig_create(cls, resource_name, with_text_policies(cloudformation_json), account_id, region_name, **kwargs)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
        cfn = with_text_policies(cloudformation_json)
        role = orig_update(cls, original_resource, new_resource_name, cfn, account_id, region_name)
        props = cfn["Properties"]
        if "AssumeRolePolicyDocument" in props:
            role.assume_role_policy_document = as_text(props["AssumeRolePolicyDocument"])
        wanted = {p["PolicyName"]: p["PolicyDocument"] for p in props["Policies"]}
        for name in list(role.policies):
            if name not in wanted:
                role.delete_policy(name)
        for name, document in wanted.items():
            role.put_policy(name, document)
        return role

    Role.create_from_cloudformation_json = classmethod(create)
    Role.update_from_cloudformation_json = classmethod(update)


# ---------------------------------------------------------------------------
# 2b. AWS::SSO::PermissionSet
# ---------------------------------------------------------------------------


def patch_sso(m: dict[str, Any]) -> dict[str, type]:
    """AWS::SSO::PermissionSet (moto.md §2: skipped by moto; the placeholder
    gave it a physical id but created nothing, so the permission set's inline
    policy could not be read). Creates the permission set in moto's SSO admin
    backend with its inline policy, puts the policy again on update, deletes
    it with the stack. The physical id is the permission set's ARN, as in
    AWS; GetAtt PermissionSetArn gives the same."""
    from moto.ssoadmin import models as sso_models

    backends = _hook(sso_models, "ssoadmin_backends")
    for name, params in (
        ("create_permission_set", ["self", "name", "description", "instance_arn", "session_duration",
                                   "relay_state", "tags"]),
        ("put_inline_policy_to_permission_set", ["self", "instance_arn", "permission_set_arn", "inline_policy"]),
        ("delete_inline_policy_from_permission_set", ["self", "instance_arn", "permission_set_arn"]),
        ("delete_permission_set", ["self", "instance_arn", "permission_set_arn"]),
    ):
        _hook(sso_models.SSOAdminBackend, name, params)

    def as_text(policy: Any) -> str:
        return policy if isinstance(policy, str) else json.dumps(policy)

    class PermissionSet:
        def __init__(self, arn: str, instance: str) -> None:
            self.arn = arn
            self.instance = instance

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SSO::PermissionSet"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "PermissionSetArn"

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            if attribute_name == "PermissionSetArn":
                return self.arn
            raise _hook(m["exc"], "UnformattedGetAttTemplateException")()

        def is_created(self) -> bool:
            return True

        @staticmethod
        def put_policy(backend: Any, instance: str, arn: str, props: dict[str, Any]) -> None:
            policy = props.get("InlinePolicy")
            if policy:
                backend.put_inline_policy_to_permission_set(instance, arn, as_text(policy))
            else:
                backend.delete_inline_policy_from_permission_set(instance, arn)

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
            props = cloudformation_json.get("Properties") or {}
            backend = backends[account_id][region_name]
            instance = props["InstanceArn"]
            created = backend.create_permission_set(
                props.get("Name") or resource_name, props.get("Description") or "", instance,
                props.get("SessionDuration") or "PT1H", props.get("RelayStateType") or "", props.get("Tags") or [],
            )
            arn = created["PermissionSetArn"]
            cls.put_policy(backend, instance, arn, props)
            return cls(arn, instance)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
            props = cloudformation_json.get("Properties") or {}
            cls.put_policy(backends[account_id][region_name], original_resource.instance, original_resource.arn, props)
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
            return None

        def delete(self, account_id: str, region_name: str) -> None:
            try:
                backends[account_id][region_name].delete_permission_set(self.instance, self.arn)
            except Exception:
                pass  # already gone: nothing to delete

    return {"AWS::SSO::PermissionSet": PermissionSet}


# ---------------------------------------------------------------------------
# 6b. Resource types moto does not implement: placeholders
# ---------------------------------------------------------------------------


def make_placeholder(m: dict[str, Any]) -> type:
    random_suffix = _hook(m["cfn_utils"], "random_suffix")

    # Properties whose value AWS returns as the Ref of these types.
    name_paths = {
        "AWS::Glue::Database": ("DatabaseInput", "Name"),
        "AWS::Glue::Table": ("TableInput", "Name"),
        "AWS::Athena::WorkGroup": ("Name",),
        "AWS::Athena::DataCatalog": ("Name",),
        "AWS::SSO::PermissionSet": (),
        "AWS::RAM::ResourceShare": (),
    }

    class Placeholder:
        """Stands in for a resource type moto does not implement (Glue,
        LakeFormation, Athena, SSO, RAM, ...).

        moto.md §2 "How skipped types behave": such resources were skipped
        with no trace, so Ref gave "", `${X}` in Fn::Sub stayed literal,
        Fn::GetAtt failed the stack, Outputs that mentioned them vanished and
        list_stack_resources returned blank rows. The placeholder creates
        nothing in the service (get_database still says EntityNotFound), but
        gives the stack a proper resource row, a physical id and attributes,
        so templates in their real form deploy like they would on AWS.
        """

        def __init__(self, resource_type: str, physical_id: str, account_id: str, region_name: str) -> None:
            self.resource_type = resource_type
            self.physical_id = physical_id
            self.account_id = account_id
            self.region_name = region_name

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> str:
            service = self.resource_type.split("::")[1].lower()
            kind = self.resource_type.split("::")[-1].lower()
            if attribute_name.endswith("Arn") or attribute_name == "Arn":
                return f"arn:aws:{service}:{self.region_name}:{self.account_id}:{kind}/{self.physical_id}"
            if attribute_name.endswith("Id"):
                return self.physical_id
            return f"{self.physical_id}-{attribute_name}"

        def is_created(self) -> bool:
            return True

        @staticmethod
        def _physical_id(resource_type: str, resource_name: str, props: dict[str, Any]) -> str:
            path = name_paths.get(resource_type, ("Name",))
            node: Any = props
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if path and isinstance(node, str) and node:
                return node
            return resource_name or f"placeholder-{random_suffix()}"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # type: ignore[no-untyped-def]
            rtype = cloudformation_json.get("Type") or kwargs.get("ResourceType", "AWS::Unknown::Unknown")
            props = cloudformation_json.get("Properties") or {}
            return cls(rtype, cls._physical_id(rtype, resource_name, props), account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
            rtype = cloudformation_json.get("Type") or original_resource.resource_type
            props = cloudformation_json.get("Properties") or {}
            new_id = cls._physical_id(rtype, original_resource.physical_id, props)
            original_resource.physical_id = new_id
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
            return None

        def delete(self, account_id: str, region_name: str) -> None:
            return None

    return Placeholder


def patch_resource_types(m: dict[str, Any], extra: dict[str, type], placeholder: type) -> None:
    parsing = m["parsing"]
    orig = _hook(parsing, "resource_class_from_type", ["resource_type"])
    get_model_map = _hook(parsing, "get_model_map")
    null_models = _hook(parsing, "NULL_MODELS")

    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type in extra:
            return extra[resource_type]
        if (
            isinstance(resource_type, str)
            and resource_type.startswith("AWS::")
            and resource_type not in get_model_map()
            and resource_type not in null_models
        ):
            return placeholder
        return orig(resource_type)

    parsing.resource_class_from_type = resource_class_from_type


# ---------------------------------------------------------------------------
# 3-5. CloudFormation change sets, stacks, outputs
# ---------------------------------------------------------------------------


def patch_cloudformation(m: dict[str, Any], errors: dict[str, type]) -> None:
    models, parsing, responses = m["models"], m["parsing"], m["responses"]
    Backend = _hook(models, "CloudFormationBackend")
    Stack = _hook(models, "Stack")
    ChangeSet = _hook(models, "ChangeSet")
    Event = _hook(models, "Event", None)
    _hook(Event, "__init__", ["self", "stack_id", "stack_name", "logical_resource_id", "physical_resource_id",
                              "resource_type", "resource_status", "resource_status_reason", "resource_properties"])
    _hook(ChangeSet, "__init__", ["self", "change_set_type", "change_set_id", "change_set_name", "stack",
                                  "template", "parameters", "description", "notification_arns", "tags", "role_arn"])
    _hook(ChangeSet, "apply", ["self"])
    _hook(Stack, "_add_stack_event", ["self", "resource_status", "resource_status_reason"])
    _hook(Stack, "_create_output_map", ["self"])
    _hook(Stack, "_parse_template", ["self"])
    _hook(Stack, "outputs")
    _hook(Stack, "exports")
    _hook(parsing.ResourceMap, "build_resource_diff", ["self", "other_template", "parameters"])
    _hook(parsing.ResourceMap, "update", ["self", "template", "parameters"])
    _hook(parsing.ResourceMap, "delete", ["self"])
    generate_stack_id = _hook(models, "generate_stack_id", ["stack_name", "region", "account"])
    generate_changeset_id = _hook(models, "generate_changeset_id", ["changeset_name", "region_name", "account_id"])
    validate_name = _hook(models, "validate_create_change_set", ["change_set_name"])
    ValidationError = errors["ValidationError"]
    ChangeSetNotFound = errors["ChangeSetNotFound"]
    InvalidChangeSetStatus = errors["InvalidChangeSetStatus"]
    AlreadyExists = errors["AlreadyExists"]
    Response = _hook(responses, "CloudFormationResponse")
    ActionResult = _hook(responses, "ActionResult")
    EmptyResult = _hook(responses, "EmptyResult")
    for name in ("create_change_set", "delete_change_set", "describe_change_set", "execute_change_set",
                 "list_change_sets", "_validate_different_update", "_get_param"):
        _hook(Response, name)
    _hook(Backend, "delete_stack", ["self", "name_or_stack_id"])
    _hook(Backend, "create_change_set", ["self", "stack_name", "change_set_name", "template", "parameters",
                                         "description", "change_set_type", "notification_arns", "tags", "role_arn"])

    # -- which resource failed (for the CREATE_FAILED / UPDATE_FAILED event) --
    failure = threading.local()

    def track(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(logical_id, resource_json, *args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                return fn(logical_id, resource_json, *args, **kwargs)
            except Exception:
                if getattr(failure, "resource", None) is None:
                    failure.resource = (logical_id, resource_json.get("Type", ""))
                raise

        return wrapper

    parsing.parse_and_create_resource = track(_hook(parsing, "parse_and_create_resource", ["logical_id", "resource_json"]))
    parsing.parse_and_update_resource = track(_hook(parsing, "parse_and_update_resource", ["logical_id", "resource_json"]))

    # moto.md §1 "Parameter-only change": a parameter used as `${Env}` inside
    # Fn::Sub was not seen as a dependency, so the resource (a bucket named
    # !Sub yaml-${Env}-probe) was neither listed as Modify nor renamed.
    _hook(parsing, "get_references_from_template", ["template"])

    def get_references_from_template(template: Any) -> list[str]:
        refs, getatts = _references(template)
        return sorted(refs | getatts)

    parsing.get_references_from_template = get_references_from_template

    def effective_parameters(template_dict: Any, given: dict[str, Any] | None) -> dict[str, Any]:
        """The value of every declared parameter: the one given, else the Default."""
        declared = (template_dict or {}).get("Parameters") or {}
        given = given or {}
        return {
            p: given[p] if p in given else (spec.get("Default") if isinstance(spec, dict) else None)
            for p, spec in declared.items()
        }

    def comparable(params: dict[str, Any]) -> dict[str, Any]:
        return {k: ",".join(map(str, v)) if isinstance(v, list) else (None if v is None else str(v))
                for k, v in params.items()}

    orig_build_diff = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self, other_template, parameters=None):  # type: ignore[no-untyped-def]
        # moto compared the given parameters with the previously *given* ones,
        # so passing a parameter explicitly at its default value counted as a
        # change (and omitting one that had been given did not). AWS compares
        # the values in effect, defaults included.
        result = orig_build_diff(self, other_template, None)
        if parameters is None:
            return result
        before = comparable(effective_parameters(self._template, self.input_parameters))
        after = comparable(effective_parameters(other_template, parameters))
        changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
        old, new = self._resource_json_map, other_template["Resources"]
        for name in new:
            if name in old and new[name] == old[name] and name not in result["Modify"]:
                if changed & set(parsing.get_references_from_template(new[name])):
                    result["Modify"].append(name)
        return result

    parsing.ResourceMap.build_resource_diff = build_resource_diff

    orig_rm_update = parsing.ResourceMap.update

    def rm_update(self, template, parameters=None):  # type: ignore[no-untyped-def]
        # moto kept the old parameter values when an update gave none (its
        # `if parameters:`); in AWS an omitted parameter takes its Default.
        if parameters is not None:
            parameters = {k: v for k, v in effective_parameters(template, parameters).items() if v is not None}
        old_resources = dict(self._resource_json_map)
        before = {name: getattr(self._parsed_resources.get(name), "physical_resource_id", None) for name in old_resources}
        orig_rm_update(self, template, parameters)
        # When an update replaces a resource (a bucket renamed), AWS updates
        # every resource that refers to it, so a BucketPolicy follows its
        # bucket. moto updated only resources whose own template changed, so
        # they kept pointing at the deleted resource.
        def physical(name: str) -> Any:
            return getattr(self._parsed_resources.get(name), "physical_resource_id", None)

        replaced = {n for n, pid in before.items() if pid is not None and n in self._parsed_resources and physical(n) != pid}
        done: set[str] = set(replaced)
        for _ in range(len(self._resource_json_map) + 1):
            if not replaced:
                break
            newly: set[str] = set()
            for name, res in self._resource_json_map.items():
                if name in done or name not in self._parsed_resources:
                    continue
                if replaced & set(parsing.get_references_from_template(res)):
                    old_id = physical(name)
                    updated = parsing.parse_and_update_resource(
                        name, res, self, account_id=self._account_id, region_name=self._region_name)
                    if updated is not None:
                        self._parsed_resources[name] = updated
                    done.add(name)
                    if physical(name) != old_id:
                        newly.add(name)
            replaced = newly

    parsing.ResourceMap.update = rm_update

    # Parameter-only changes: AWS lists the resources that use a changed
    # parameter as Modify in the change set; moto diffed the templates only,
    # so describe_change_set said `Changes: []` while execution modified them.
    def diff(self):  # type: ignore[no-untyped-def]
        rm = self.stack.resource_map
        by_action = rm.build_resource_diff(self.template_dict, self.parameters or {})
        old = rm._resource_json_map
        changes = []
        for action in ("Add", "Modify", "Remove"):
            for name in by_action[action]:
                source = old if action == "Remove" else self.template_dict["Resources"]
                changes.append(models.Change(action=action, logical_resource_id=name,
                                             resource_type=source[name]["Type"]))
        return changes

    _hook(models, "Change")
    ChangeSet.diff = diff

    # -- template validation at CreateChangeSet, as AWS does ------------------
    def check_template(template: Any, region: str | None = None) -> dict[str, Any]:
        # moto.md §1 "Template errors": bad JSON, a non-object template or no
        # Resources gave HTTP 500 and left a stack in REVIEW_IN_PROGRESS; an
        # undefined Ref failed only at execute time (HTTP 500). AWS rejects
        # these in CreateChangeSet with a ValidationError and creates no stack.
        try:
            body = _parse_template_text(models, template)
        except Exception as e:
            raise ValidationError(message=f"Template format error: {type(e).__name__}: {e}")
        if not isinstance(body, dict):
            raise ValidationError(message="Template format error: JSON not well-formed.")
        resources = body.get("Resources")
        if not isinstance(resources, dict) or not resources:
            raise ValidationError(message="Template format error: At least one Resources member must be defined.")
        for name, res in resources.items():
            if not isinstance(res, dict) or not isinstance(res.get("Type"), str):
                raise ValidationError(message=f"Template format error: [/Resources/{name}] Every Resources object must contain a Type member.")
        # moto.md §1: an unknown type such as AWS::Foo::Bar (or the
        # non-existent AWS::Glue::ResourcePolicy) was accepted, listed as Add
        # and skipped. AWS rejects the template.
        known_types = known_resource_types(region) if region and not body.get("Transform") else None
        if known_types:
            unknown_types = sorted({
                res["Type"] for res in resources.values()
                if res["Type"].startswith("AWS::") and res["Type"] not in known_types
            })
            if unknown_types:
                raise ValidationError(message=(
                    f"Template format error: Unrecognized resource types: [{', '.join(unknown_types)}]"))
        declared = body.get("Parameters") or {}
        known = set(declared) | set(resources) | PSEUDO_PARAMETERS
        for section in ("Resources", "Outputs"):
            refs, getatts = _references(body.get(section) or {})
            missing = (refs - known) | (getatts - set(resources))
            if section == "Resources":
                for res in resources.values():
                    depends = res.get("DependsOn") or []
                    missing |= set([depends] if isinstance(depends, str) else depends) - set(resources)
            missing = sorted(missing)
            if missing:
                raise ValidationError(message=(
                    f"Template format error: Unresolved resource dependencies [{', '.join(missing)}] "
                    f"in the {section} block of the template"))
        return body

    def validate_template(template: Any, parameters: dict[str, Any], region: str) -> dict[str, Any]:
        # moto.md §1: a missing parameter failed only at execute time
        # ("Missing parameter P"); AWS refuses the change set.
        body = check_template(template, region)
        declared = body.get("Parameters") or {}
        unknown = sorted(set(parameters) - set(declared))
        if unknown:
            raise ValidationError(message=f"Parameters: [{', '.join(unknown)}] do not exist in the template")
        absent = sorted(
            p for p, spec in declared.items()
            if p not in parameters and not (isinstance(spec, dict) and "Default" in spec)
        )
        if absent:
            raise ValidationError(message=f"Parameters: [{', '.join(absent)}] must have values")
        return body

    IAM_TYPES = {
        "AWS::IAM::AccessKey", "AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::UserToGroupAddition",
    }
    IAM_NAME_PROPERTIES = {"RoleName", "GroupName", "UserName", "InstanceProfileName", "ManagedPolicyName"}

    def required_capabilities(body: dict[str, Any]) -> tuple[str | None, list[str]]:
        """The IAM capability a template needs (AWS's rule) and the types needing it."""
        needed, types = None, set()
        for res in (body.get("Resources") or {}).values():
            if res.get("Type") in IAM_TYPES:
                types.add(res["Type"])
                named = IAM_NAME_PROPERTIES & set(res.get("Properties") or {})
                needed = "CAPABILITY_NAMED_IAM" if named or needed == "CAPABILITY_NAMED_IAM" else "CAPABILITY_IAM"
        return needed, sorted(types)

    request_capabilities = threading.local()

    def check_capabilities(body: dict[str, Any]) -> None:
        # moto.md §1 "Capabilities: Not enforced": named IAM roles deployed
        # without CAPABILITY_NAMED_IAM. AWS refuses the change set.
        given = getattr(request_capabilities, "value", None)
        if given is None:
            return  # not called through the API (e.g. a nested stack)
        needed, _ = required_capabilities(body)
        if needed is None or needed in given or (needed == "CAPABILITY_IAM" and "CAPABILITY_NAMED_IAM" in given):
            return
        raise errors["InsufficientCapabilities"](f"Requires capabilities : [{needed}]")

    NOT_UPDATABLE = {
        "REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_COMPLETE", "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED",
    }

    def live_stack(backend: Any, name_or_id: str) -> Any:
        if name_or_id in backend.stacks:
            return backend.stacks[name_or_id]
        for stack in backend.stacks.values():
            if stack.name == name_or_id:
                return stack
        return None

    def create_change_set(self, stack_name, change_set_name, template, parameters, description,
                          change_set_type, notification_arns=None, tags=None, role_arn=None):  # type: ignore[no-untyped-def]
        validate_name(change_set_name)
        if change_set_type not in ("CREATE", "UPDATE", "IMPORT"):
            raise ValidationError(message=f"1 validation error detected: Value '{change_set_type}' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [IMPORT, UPDATE, CREATE]")
        existing = live_stack(self, stack_name)
        check_capabilities(validate_template(template, parameters, self.region_name))
        if change_set_type == "CREATE":
            if existing is not None and existing.status != "REVIEW_IN_PROGRESS":
                # moto.md §1: a CREATE change set for an existing stack name
                # was accepted and made a second stack with that name.
                raise AlreadyExists(
                    f"Stack [{stack_name}] already exists and cannot be created again "
                    f"with the changeSet [{change_set_name}]."
                )
            if existing is not None:
                # AWS reuses a stack that is still in REVIEW_IN_PROGRESS.
                stack = existing
                stack.parameters = parameters
                stack.resource_map.input_parameters = parameters
                if tags:
                    stack.tags = tags
            else:
                stack = Stack(
                    stack_id=generate_stack_id(stack_name, self.region_name, self.account_id),
                    name=stack_name, template={}, parameters=parameters,
                    account_id=self.account_id, region_name=self.region_name,
                    notification_arns=notification_arns, tags=tags, role_arn=role_arn,
                )
                self.stacks[stack.stack_id] = stack
                stack.status = "REVIEW_IN_PROGRESS"
                stack._add_stack_event("REVIEW_IN_PROGRESS", resource_status_reason="User Initiated")
        else:
            if existing is None:
                raise ValidationError(stack_name)
            if change_set_type == "UPDATE" and existing.status in NOT_UPDATABLE:
                raise ValidationError(message=(
                    f"Stack:{existing.stack_id} is in {existing.status} state and can not be updated."))
            stack = existing
        # Fn::ImportValue: moto gave change-set stacks a private, empty copy
        # of the region's exports, so an import never resolved.
        stack.cross_stack_resources = self.exports
        stack.resource_map.cross_stack_resources = self.exports

        change_set_id = generate_changeset_id(change_set_name, self.region_name, self.account_id)
        cs = ChangeSet(
            change_set_type=change_set_type, change_set_id=change_set_id,
            change_set_name=change_set_name, stack=stack, template=template,
            parameters=parameters, description=description,
            notification_arns=notification_arns, tags=tags, role_arn=role_arn,
        )
        if (
            change_set_type == "UPDATE"
            and stack.has_template(template)
            and comparable(effective_parameters(stack.template_dict, stack.parameters))
            == comparable(effective_parameters(cs.template_dict, parameters))
        ):
            cs.status = "FAILED"
            cs.execution_status = "UNAVAILABLE"
            cs.status_reason = ("The submitted information didn't contain changes. "
                                "Submit different information to create a change set.")
        else:
            cs.status = "CREATE_COMPLETE"
            cs.execution_status = "AVAILABLE"
        self.change_sets[change_set_id] = cs
        return change_set_id, stack.stack_id

    Backend.create_change_set = create_change_set

    def find_change_set(backend: Any, name_or_arn: str, stack_name: str | None) -> Any:
        if name_or_arn and name_or_arn in backend.change_sets:
            return backend.change_sets[name_or_arn]
        if name_or_arn and name_or_arn.startswith("arn:"):
            raise ChangeSetNotFound(f"ChangeSet [{name_or_arn}] does not exist")
        if not stack_name:
            raise ValidationError(message="StackName must be specified if ChangeSetName is not specified as an ARN.")
        # moto matched change sets by name alone (the last one anywhere in the
        # account and region won), ignoring StackName; AWS scopes names to
        # the stack, and the same change-set name is normal across stacks.
        stack = live_stack(backend, stack_name)
        found = None
        for cs in backend.change_sets.values():
            if cs.change_set_name != name_or_arn:
                continue
            if stack is not None and cs.stack_id == stack.stack_id:
                found = cs
            elif stack is None and cs.stack_id == stack_name:
                found = cs
        if found is None:
            raise ChangeSetNotFound(f"ChangeSet [{name_or_arn}] does not exist")
        return found

    def delete_change_set(self, change_set_name, stack_name=None):  # type: ignore[no-untyped-def]
        # moto.md §1: delete_change_set for a missing name crashed with
        # UnboundLocalError (HTTP 500); AWS answers ChangeSetNotFound (404).
        cs = find_change_set(self, change_set_name, stack_name)
        if cs.execution_status == "EXECUTE_IN_PROGRESS":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{cs.change_set_id}] cannot be deleted in its current status of [EXECUTE_IN_PROGRESS]")
        del self.change_sets[cs.change_set_id]

    def describe_change_set(self, change_set_name, stack_name=None):  # type: ignore[no-untyped-def]
        return find_change_set(self, change_set_name, stack_name)

    def add_event(stack: Any, logical_id: str, physical_id: str, rtype: str, status: str, reason: str | None) -> None:
        event = Event(
            stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
            physical_resource_id=physical_id, resource_type=rtype, resource_status=status,
            resource_status_reason=reason, resource_properties=None,
        )
        stack.events.append(event)

    def error_text(e: BaseException) -> str:
        message = getattr(e, "message", None)
        if isinstance(message, str) and message:
            return message
        if isinstance(e, KeyError):
            return f"Property validation failure: missing or unresolvable {e}"
        return f"{type(e).__name__}: {e}"

    def publish_outputs(backend: Any, stack: Any) -> None:
        # moto.md §1 "describe_stacks Outputs": stacks created or updated
        # through a change set had no Outputs and registered no Exports
        # (execute_change_set never rebuilt the output map). Rebuild it and
        # register the exports, keeping names unique in the region like AWS.
        stack.output_map = stack._create_output_map()
        _ = stack.outputs  # evaluate now, so a broken output fails this execution
        exports = stack.exports
        for export in exports:
            owner = backend.exports.get(export.name)
            if owner is not None and owner.exporting_stack_id != stack.stack_id:
                other = backend.stacks.get(owner.exporting_stack_id)
                raise ValidationError(message=(
                    f"Export with name {export.name} is already exported by stack "
                    f"{other.name if other else owner.exporting_stack_id}"))
        for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
            del backend.exports[name]
        for export in exports:
            backend.exports[export.name] = export

    def policy_denies(policy: Any, logical_id: str, rtype: str) -> bool:
        """Whether a stack policy denies Update:Delete on this resource.

        moto stored stack policies and never read them; AWS fails an update
        that removes a resource its stack policy protects. Only what
        meshsynth's policies use is understood: Deny statements with
        Action, Resource or NotResource (`LogicalResourceId/<id>`, `*`,
        trailing `*`) and a ResourceType condition (StringEquals/StringLike).
        """
        def matches(pattern: str, value: str) -> bool:
            return pattern == value or (pattern.endswith("*") and value.startswith(pattern[:-1]))

        def listed(v: Any) -> list[str]:
            return [v] if isinstance(v, str) else list(v or [])

        for st in listed(policy.get("Statement")) if isinstance(policy, dict) else []:
            if not isinstance(st, dict) or st.get("Effect") != "Deny":
                continue
            if not any(matches(a, "Update:Delete") for a in listed(st.get("Action"))):
                continue
            target = f"LogicalResourceId/{logical_id}"
            if "NotResource" in st:
                if any(matches(r, target) for r in listed(st["NotResource"])):
                    continue
            elif not any(r == "*" or matches(r, target) for r in listed(st.get("Resource"))):
                continue
            types = [t for op in ("StringEquals", "StringLike")
                     for t in listed(((st.get("Condition") or {}).get(op) or {}).get("ResourceType"))]
            if types and not any(matches(t, rtype) for t in types):
                continue
            return True
        return False

    def enforce_stack_policy(stack: Any, old: Any, new: Any) -> None:
        body = getattr(stack, "policy", None)
        if not body:
            return
        try:
            policy = json.loads(body)
        except (TypeError, ValueError):
            return
        old_resources = (old or {}).get("Resources") or {}
        new_resources = (new or {}).get("Resources") or {}
        for logical_id, res in sorted(old_resources.items()):
            if logical_id in new_resources:
                continue
            rtype = (res or {}).get("Type", "")
            if policy_denies(policy, logical_id, rtype):
                failure.resource = (logical_id, rtype)
                raise ValidationError(message=(
                    f"Action denied by stack policy: Statement [Deny Update:Delete] on "
                    f"[LogicalResourceId/{logical_id}] ({rtype})"))

    def execute_change_set(self, change_set_name, stack_name=None):  # type: ignore[no-untyped-def]
        cs = find_change_set(self, change_set_name, stack_name)
        # moto.md §1: a FAILED ("no changes") change set could be executed;
        # AWS refuses anything not AVAILABLE with InvalidChangeSetStatus.
        if cs.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{cs.change_set_id}] cannot be executed in its current status of "
                f"[{cs.status if cs.status == 'FAILED' else cs.execution_status}]")
        stack = self.stacks[cs.stack_id]
        creating = stack.status == "REVIEW_IN_PROGRESS"
        verb = "CREATE" if creating else "UPDATE"
        before = {
            "template": stack.template,
            "template_dict": copy.deepcopy(getattr(stack, "template_dict", {})),
            "parameters": stack.parameters,
        }
        stack.resource_map.cross_stack_resources = self.exports
        cs.execution_status = "EXECUTE_IN_PROGRESS"
        stack._add_stack_event(f"{verb}_IN_PROGRESS", resource_status_reason="User Initiated")
        failure.resource = None
        try:
            if not creating:
                enforce_stack_policy(stack, before["template_dict"], cs.template_dict)
            cs.apply()
            stack.template = cs.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            stack.parameters = dict(cs.parameters or {})
            if cs.tags:
                stack.tags = cs.tags
            if cs.role_arn:
                stack.role_arn = cs.role_arn
            publish_outputs(self, stack)
        except Exception as e:  # noqa: BLE001 - any moto failure is a stack failure
            # moto.md §1 "After any failed execution": moto raised the error
            # from ExecuteChangeSet (often as HTTP 500), left a new stack in
            # REVIEW_IN_PROGRESS (waiters spin) and kept half-made resources.
            # AWS accepts the call, fails the resource, rolls back and ends
            # in ROLLBACK_COMPLETE / UPDATE_ROLLBACK_COMPLETE.
            reason = error_text(e)
            logical_id, rtype = failure.resource or (None, None)
            if logical_id:
                add_event(stack, logical_id, "", rtype, f"{verb}_FAILED", reason)
                summary = f"The following resource(s) failed to {verb.lower()}: [{logical_id}]. "
            else:
                summary = f"{reason}. "
            cs.execution_status = "EXECUTE_FAILED"
            cs.status_reason = reason
            if creating:
                stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=summary + "Rollback requested by user.")
                try:
                    stack.resource_map.delete()
                    end = "ROLLBACK_COMPLETE"
                except Exception as rollback_error:  # noqa: BLE001
                    end = "ROLLBACK_FAILED"
                    reason = error_text(rollback_error)
                stack.template = cs.template
                try:
                    stack._parse_template()
                except Exception:  # noqa: BLE001
                    pass
                stack._add_stack_event(end, resource_status_reason=None if end == "ROLLBACK_COMPLETE" else reason)
                stack.status = end
            else:
                stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=summary)
                try:
                    stack.resource_map.update(before["template_dict"], before["parameters"])
                    end = "UPDATE_ROLLBACK_COMPLETE"
                except Exception as rollback_error:  # noqa: BLE001
                    end = "UPDATE_ROLLBACK_FAILED"
                    reason = error_text(rollback_error)
                stack.template = before["template"]
                stack.template_dict = before["template_dict"]
                stack.parameters = before["parameters"]
                try:
                    stack.output_map = stack._create_output_map()
                except Exception:  # noqa: BLE001
                    pass
                if end == "UPDATE_ROLLBACK_COMPLETE":
                    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
                stack._add_stack_event(end, resource_status_reason=None if end == "UPDATE_ROLLBACK_COMPLETE" else reason)
                stack.status = end
            return
        finally:
            failure.resource = None

        stack._add_stack_event(f"{verb}_COMPLETE")
        stack.status = f"{verb}_COMPLETE"
        cs.execution_status = "EXECUTE_COMPLETE"
        # AWS: "When you execute a change set, CloudFormation deletes all other
        # change sets associated with the stack"; moto kept them all listed.
        for other in [k for k, v in self.change_sets.items() if v.stack_id == stack.stack_id and v is not cs]:
            del self.change_sets[other]

    Backend.delete_change_set = delete_change_set
    Backend.describe_change_set = describe_change_set
    Backend.execute_change_set = execute_change_set

    def delete_stack(self, name_or_stack_id):  # type: ignore[no-untyped-def]
        stack = live_stack(self, name_or_stack_id)
        if stack is None:
            return  # AWS: deleting a stack that does not exist succeeds
        # moto kept the flag but never honoured it (nor let it be changed).
        if getattr(stack, "enable_termination_protection", False):
            raise ValidationError(message=(
                f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"))
        try:
            stack.delete()
        except Exception as e:  # noqa: BLE001
            # moto raised the error from DeleteStack; AWS accepts the call and
            # the stack ends in DELETE_FAILED with the reason in its events.
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=error_text(e))
            stack.status = "DELETE_FAILED"
            return
        del self.stacks[stack.stack_id]
        self.deleted_stacks[stack.stack_id] = stack
        # moto popped every export name the stack's outputs evaluate to, and
        # crashed (KeyError) on one that had never been registered.
        for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
            del self.exports[name]
        # AWS deletes a stack's change sets with it.
        for key in [k for k, v in self.change_sets.items() if v.stack_id == stack.stack_id]:
            del self.change_sets[key]

    Backend.delete_stack = delete_stack

    # -- the API layer: pass StackName through, AWS-shaped answers -----------
    def r_delete_change_set(self):  # type: ignore[no-untyped-def]
        self.cloudformation_backend.delete_change_set(
            change_set_name=self._get_param("ChangeSetName"), stack_name=self._get_param("StackName"))
        return EmptyResult()

    def r_describe_change_set(self):  # type: ignore[no-untyped-def]
        cs = self.cloudformation_backend.describe_change_set(
            change_set_name=self._get_param("ChangeSetName"), stack_name=self._get_param("StackName"))
        return ActionResult(cs)

    def r_execute_change_set(self):  # type: ignore[no-untyped-def]
        self.cloudformation_backend.execute_change_set(
            change_set_name=self._get_param("ChangeSetName"), stack_name=self._get_param("StackName"))
        return EmptyResult()

    def r_update_termination_protection(self):  # type: ignore[no-untyped-def]
        # Not in moto 5.2.1 at all.
        name = self._get_param("StackName")
        stack = live_stack(self.cloudformation_backend, name)
        if stack is None:
            raise ValidationError(name)
        value = self._get_param("EnableTerminationProtection")
        stack.enable_termination_protection = value is True or str(value).lower() == "true"
        return ActionResult({"StackId": stack.stack_id})

    Response.update_termination_protection = r_update_termination_protection

    # Drift detection is not in moto 5.2.1: the three calls crashed the
    # request (HTTP 500, an HTML page). Answer as AWS answers an action it
    # does not offer, so a client can tell "no drift detection here" from a
    # failure. (`meshsynth drift` then reports the stacks as not checked.)
    def drift_not_offered(action: str) -> Callable[..., Any]:
        def respond(self):  # type: ignore[no-untyped-def]
            raise errors["InvalidAction"](f"The action {action} is not valid for this web service.")

        return respond

    for action in ("DetectStackDrift", "DescribeStackDriftDetectionStatus", "DescribeStackResourceDrifts"):
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
        setattr(Response, name, drift_not_offered(action))

    def r_list_change_sets(self):  # type: ignore[no-untyped-def]
        # moto listed every change set in the region whatever StackName said.
        backend = self.cloudformation_backend
        wanted = self._get_param("StackName")
        stack = live_stack(backend, wanted) if wanted else None
        summaries = [
            cs for cs in backend.list_change_sets()
            if not wanted or (stack is not None and cs.stack_id == stack.stack_id) or cs.stack_id == wanted
        ]
        return ActionResult({"Summaries": summaries})

    orig_r_create = Response.create_change_set

    def r_create_change_set(self):  # type: ignore[no-untyped-def]
        request_capabilities.value = list(self._get_param("Capabilities", []) or [])
        try:
            return orig_r_create(self)
        finally:
            request_capabilities.value = None

    Response.create_change_set = r_create_change_set

    def r_validate_template(self):  # type: ignore[no-untyped-def]
        # moto.md §1 "validate_template": moto ran cfn-lint (writing file.tmp
        # into its working directory), failed on any lint *warning* with the
        # message wrapped as "Stack with id ... does not exist", and always
        # answered Parameters: []. AWS checks the template's format and
        # references and describes its parameters and capabilities.
        body = self._get_param("TemplateBody")
        url = self._get_param("TemplateURL")
        if url:
            body = self._get_stack_from_s3_url(url)
        if not body:
            raise ValidationError(message="Either Template URL or Template Body must be specified.")
        parsed = check_template(body, self.region)
        parameters = []
        for key, spec in (parsed.get("Parameters") or {}).items():
            spec = spec if isinstance(spec, dict) else {}
            item = {"ParameterKey": key, "NoEcho": str(spec.get("NoEcho", False)).lower() == "true",
                    "Description": spec.get("Description")}
            if "Default" in spec:
                item["DefaultValue"] = str(spec["Default"])
            parameters.append(item)
        needed, types = required_capabilities(parsed)
        transform = parsed.get("Transform")
        result = {
            "Description": parsed.get("Description"),
            "Parameters": parameters,
            "Capabilities": [needed] if needed else [],
            "CapabilitiesReason": f"The following resource(s) require capabilities: [{', '.join(types)}]" if needed else None,
            "DeclaredTransforms": [transform] if isinstance(transform, str) else (transform or []),
        }
        return ActionResult(result)

    _hook(Response, "validate_template")
    _hook(Response, "_get_stack_from_s3_url")
    Response.validate_template = r_validate_template

    orig_validate_update = Response._validate_different_update

    def validate_different_update(self, incoming_params, stack_body, old_stack):  # type: ignore[no-untyped-def]
        # moto.md §1 "No-op UPDATE with Parameters": CreateChangeSet raised
        # "No updates are to be performed." (that is UpdateStack's answer);
        # AWS creates the change set and marks it FAILED with "didn't contain
        # changes", which the backend does. Keep the check for UpdateStack.
        if self._get_action() == "CreateChangeSet":
            return None
        return orig_validate_update(self, incoming_params, stack_body, old_stack)

    _hook(Response, "_get_action")
    Response.delete_change_set = r_delete_change_set
    Response.describe_change_set = r_describe_change_set
    Response.execute_change_set = r_execute_change_set
    Response.list_change_sets = r_list_change_sets
    Response._validate_different_update = validate_different_update

    # moto.md §1: get_template_summary gave HTTP 500 (KeyError) for a template
    # without AWSTemplateFormatVersion, which is optional in AWS.
    orig_summary = _hook(responses, "get_template_summary_response_from_template", ["template_body"])

    def template_summary(template_body):  # type: ignore[no-untyped-def]
        try:
            return orig_summary(template_body)
        except KeyError as e:
            if "AWSTemplateFormatVersion" not in str(e):
                raise
            body = _parse_template_text(models, template_body)
            body["AWSTemplateFormatVersion"] = "2010-09-09"
            return orig_summary(json.dumps(body, default=str))

    responses.get_template_summary_response_from_template = template_summary


# ---------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------


def apply_patches() -> None:
    m = _import_moto()
    errors = _make_errors(m)
    patch_kms(m)
    patch_iam(m)
    extra = patch_s3(m)
    extra.update(patch_sso(m))
    patch_resource_types(m, extra, make_placeholder(m))
    patch_cloudformation(m, errors)


# Calls served since the start or the last reset, by API action (the query
# protocol's `Action`, or the JSON protocol's `X-Amz-Target`), so tests can
# tell what a command did: `GET /moto-api/meshsynth/calls` returns them as a
# JSON object. `POST /moto-api/reset` clears them with everything else.
CALLS: dict[str, int] = {}
CALLS_PATH = "/moto-api/meshsynth/calls"


def _count_call(environ: dict[str, Any]) -> None:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        CALLS[target] = CALLS.get(target, 0) + 1
        return
    if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
    if action:
        CALLS[action[0]] = CALLS.get(action[0], 0) + 1


def _serialised(app: Callable[..., Any]) -> Callable[..., Any]:
    """Serve one request at a time: moto's backends are not thread-safe."""
    lock = threading.Lock()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            path = environ.get("PATH_INFO", "")
            if path == CALLS_PATH:
                body = json.dumps(CALLS, sort_keys=True).encode()
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
                return [body]
            if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
                CALLS.clear()
            elif not path.startswith("/moto-api"):
                _count_call(environ)
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]

    return wrapped


def serve(host: str, port: int) -> None:
    os.environ.setdefault("MOTO_PORT", str(port))
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # type: ignore[attr-defined]  # as moto_server does

    def stop(signum: int, frame: Any) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    run_simple(host, port, _serialised(app), threaded=True, use_reloader=False)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: local_aws.py PORT", file=sys.stderr)
        return 2
    # Never force one account (it defeats STS hops between accounts), and
    # keep unknown regions an error as in AWS (moto.md §3).
    for var in ("MOTO_ACCOUNT_ID", "MOTO_ALLOW_NONEXISTENT_REGION"):
        os.environ.pop(var, None)
    try:
        apply_patches()
        # Load the resource-type registry now, off the request path.
        threading.Thread(target=known_resource_types, args=("eu-west-1",), daemon=True).start()
    except PatchError as e:
        print(f"local-aws: cannot patch moto: {e}", file=sys.stderr)
        return 3
    except ImportError as e:
        print(f"local-aws: moto is incomplete ({e}); run: python3 -m pip install 'moto[server]==5.2.1'",
              file=sys.stderr)
        return 3
    serve("127.0.0.1", int(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
