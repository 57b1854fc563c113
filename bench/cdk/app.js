// The AWS CDK app of a meshsynth topology, for the synthesis comparison in
// BENCHMARKS.md (`scripts/bench-synth`). It reads the JSON form of a topology
// made by `scripts/gen-org --shape cdk --format json` and builds, as a CDK user
// would, the stacks meshsynth writes for it: per account a baseline (KMS key
// with alias, data and staging buckets with their policies, an Athena
// workgroup), per producer account a products stack (a Glue database per
// product version and its tables) and its Glue catalog resource policy, per
// consumer account a consumer stack (an Athena data catalog per producer it
// reads); the central account's catalogs of every producer (split at 400 per
// stack, as meshsynth does), its workgroup and reader role; the management
// account's Identity Center permission set and assignment. Every resource is
// tagged with the org's tags and the team's (`Tags.of`).
//
// Usage: node app.js TOPOLOGY.json OUTDIR
// Prints `cdk synth: <seconds> s, <stacks> stacks` on stderr (wall time from reading the
// topology to the cloud assembly on disk: what `cdk synth` runs, without the
// CLI's start-up). Stack traces in construct metadata are off, as the CDK CLI
// does by default.
"use strict";

const started = process.hrtime.bigint();
const fs = require("fs");
const path = require("path");
const cdk = require("aws-cdk-lib");
const kms = require("aws-cdk-lib/aws-kms");
const s3 = require("aws-cdk-lib/aws-s3");
const iam = require("aws-cdk-lib/aws-iam");
const glue = require("aws-cdk-lib/aws-glue");
const athena = require("aws-cdk-lib/aws-athena");
const sso = require("aws-cdk-lib/aws-sso");

const [topologyFile, outdir] = process.argv.slice(2);
if (!topologyFile || !outdir) {
  console.error("usage: node app.js TOPOLOGY.json OUTDIR");
  process.exit(2);
}

const topo = JSON.parse(fs.readFileSync(topologyFile, "utf8"));
const org = topo.org;
const region = org.region;
const orgPrincipal = `arn:aws:organizations::${org.management_account}:organization/${org.organization_id}`;

const app = new cdk.App({
  outdir,
  analyticsReporting: false,
  stackTraces: false,
  context: { "aws:cdk:disable-stack-trace": true },
});
const synthesizer = () => new cdk.DefaultStackSynthesizer({ generateBootstrapVersionRule: false });

// Who owns what.
const teamOf = new Map();
const products = []; // { id, domain, team, account, versions }
for (const team of topo.teams) {
  for (const a of team.accounts) teamOf.set(a.id, team);
  for (const p of team.products || []) {
    products.push({ id: `${team.domain}.${p.name}`, name: p.name, domain: team.domain, team, account: p.account, p });
  }
}
const productById = new Map(products.map((p) => [p.id, p]));
const readersOf = new Map(); // product id -> [account]
const readsFrom = new Map(); // account -> Set(producer account)
for (const team of topo.teams) {
  for (const c of team.consumes || []) {
    const id = c.product.split("@")[0];
    const p = productById.get(id);
    if (!p) continue;
    if (!readersOf.has(id)) readersOf.set(id, []);
    readersOf.get(id).push(c.account);
    if (!readsFrom.has(c.account)) readsFrom.set(c.account, new Set());
    readsFrom.get(c.account).add(p.account);
  }
}

function stack(account, part) {
  const s = new cdk.Stack(app, `${account}-mesh-${part}`, {
    stackName: `mesh-${part}`,
    env: { account, region },
    synthesizer: synthesizer(),
    description: `meshsynth ${org.name} ${part} of account ${account}`,
  });
  for (const [k, v] of Object.entries(org.tags || {})) cdk.Tags.of(s).add(k, v);
  cdk.Tags.of(s).add("meshsynth:org", org.name);
  const team = teamOf.get(account);
  if (team) {
    cdk.Tags.of(s).add("meshsynth:team", team.name);
    cdk.Tags.of(s).add("meshsynth:domain", team.domain);
  }
  return s;
}

function baseline(account, owned) {
  const s = stack(account, "baseline");
  const key = new kms.Key(s, "MeshKey", {
    description: `meshsynth ${org.name} data key of account ${account}`,
    enableKeyRotation: true,
    alias: `alias/${org.name}-mesh`,
    removalPolicy: cdk.RemovalPolicy.RETAIN,
  });
  const bucket = (id, name) =>
    new s3.Bucket(s, id, {
      bucketName: name,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
  const data = bucket("DataBucket", `${org.name}-${account}-${region}-data`);
  const staging = bucket("StagingBucket", `${org.name}-${account}-${region}-staging`);
  for (const p of owned) {
    for (const v of p.p.versions) {
      if (v.status === "retired") continue;
      const prefix = `${p.domain}/${p.name}/v${v.version}`;
      // Open data: the whole organisation reads it; each consumer account is named too.
      data.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Read${p.name.replace(/[^A-Za-z0-9]/g, "")}V${v.version}`,
          principals: [new iam.AnyPrincipal()],
          actions: ["s3:GetObject"],
          resources: [data.arnForObjects(`${prefix}/*`)],
          conditions: { StringEquals: { "aws:PrincipalOrgID": org.organization_id } },
        }),
      );
      const readers = readersOf.get(p.id) || [];
      if (readers.length) {
        data.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: `List${p.name.replace(/[^A-Za-z0-9]/g, "")}V${v.version}`,
            principals: readers.map((a) => new iam.AccountPrincipal(a)),
            actions: ["s3:ListBucket"],
            resources: [data.bucketArn],
            conditions: { StringLike: { "s3:prefix": [`${prefix}/*`] } },
          }),
        );
        key.addToResourcePolicy(
          new iam.PolicyStatement({
            principals: readers.map((a) => new iam.AccountPrincipal(a)),
            actions: ["kms:Decrypt", "kms:DescribeKey"],
            resources: ["*"],
            conditions: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } },
          }),
        );
      }
    }
  }
  new athena.CfnWorkGroup(s, "Workgroup", {
    name: "mesh",
    description: "Queries of this account over the mesh, with encrypted results",
    state: "ENABLED",
    workGroupConfiguration: {
      enforceWorkGroupConfiguration: true,
      publishCloudWatchMetricsEnabled: true,
      resultConfiguration: {
        outputLocation: `s3://${staging.bucketName}/athena-results/mesh/`,
        encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKey: key.keyArn },
      },
    },
  });
}

function productsStack(account, owned) {
  const s = stack(account, "products");
  const policy = { Version: "2012-10-17", Statement: [] };
  for (const p of owned) {
    for (const v of p.p.versions) {
      if (v.status === "retired") continue;
      const idBase = `${p.domain}${p.name}V${v.version}`.replace(/[^A-Za-z0-9]/g, "");
      const dbName = `${p.domain}_${p.name}_v${v.version}`.replace(/-/g, "_");
      const location = `s3://${org.name}-${account}-${region}-data/${p.domain}/${p.name}/v${v.version}/`;
      const db = new glue.CfnDatabase(s, `Db${idBase}`, {
        catalogId: account,
        databaseInput: {
          name: dbName,
          description: p.p.description,
          locationUri: location,
          parameters: {
            "meshsynth:org": org.name,
            "meshsynth:domain": p.domain,
            "meshsynth:product": p.id,
            "meshsynth:version": String(v.version),
            "meshsynth:status": v.status,
            "meshsynth:classification": p.p.classification,
            "meshsynth:owner": p.team.name,
          },
        },
      });
      for (const t of v.tables) {
        new glue.CfnTable(s, `Table${idBase}${t.name.replace(/[^A-Za-z0-9]/g, "")}`, {
          catalogId: account,
          databaseName: db.ref,
          tableInput: {
            name: t.name,
            description: t.description,
            tableType: "EXTERNAL_TABLE",
            parameters: { classification: "parquet", EXTERNAL: "TRUE", "meshsynth:classification": p.p.classification },
            partitionKeys: (t.partition_keys || []).map((c) => ({ name: c.name, type: c.type })),
            storageDescriptor: {
              columns: t.columns.map((c) => ({ name: c.name, type: c.type })),
              location: `${location}${t.name}/`,
              inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
              outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
              serdeInfo: {
                serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                parameters: { "serialization.format": "1" },
              },
            },
          },
        });
      }
      policy.Statement.push({
        Sid: `Read${idBase}`,
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"],
        Resource: [
          `arn:aws:glue:${region}:${account}:catalog`,
          `arn:aws:glue:${region}:${account}:database/${dbName}`,
          `arn:aws:glue:${region}:${account}:table/${dbName}/*`,
        ],
        Condition: { StringEquals: { "aws:PrincipalOrgID": org.organization_id } },
      });
    }
  }
  policies.push([account, policy]);
}

function catalog(s, producer) {
  new athena.CfnDataCatalog(s, `DataCatalog${producer}`, {
    name: `${org.name}_${producer}`,
    description: `Glue Data Catalog of mesh account ${producer}`,
    type: "GLUE",
    parameters: { "catalog-id": producer },
  });
}

const policies = [];
const producerAccounts = [...new Set(products.map((p) => p.account))].sort();
const byAccount = new Map();
for (const p of products) {
  if (!byAccount.has(p.account)) byAccount.set(p.account, []);
  byAccount.get(p.account).push(p);
}
const accounts = [...new Set([...teamOf.keys(), org.central_account])].sort();
for (const a of accounts) {
  const owned = byAccount.get(a) || [];
  baseline(a, owned);
  if (owned.length) productsStack(a, owned);
  if (a !== org.central_account && readsFrom.has(a)) {
    const s = stack(a, "consumer");
    for (const producer of [...readsFrom.get(a)].sort()) catalog(s, producer);
  }
}
// Central: a catalog of every producer, 400 per stack; the open workgroup and reader role in the first.
for (let i = 0; i * 400 < Math.max(producerAccounts.length, 1); i++) {
  const s = stack(org.central_account, `central-${i + 1}`);
  for (const producer of producerAccounts.slice(i * 400, (i + 1) * 400)) catalog(s, producer);
  if (i === 0) {
    new athena.CfnWorkGroup(s, "WorkgroupOpen", {
      name: "mesh-open",
      description: "Business users' queries of open data",
      state: "ENABLED",
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${org.name}-${org.central_account}-${region}-staging/athena-results/mesh-open/`,
          encryptionConfiguration: {
            encryptionOption: "SSE_KMS",
            kmsKey: `arn:aws:kms:${region}:${org.central_account}:alias/${org.name}-mesh`,
          },
        },
      },
    });
    const role = new iam.Role(s, "ReaderOpen", {
      roleName: `${org.name}-mesh-open-reader`,
      assumedBy: new iam.AccountPrincipal(org.central_account),
      maxSessionDuration: cdk.Duration.hours(12),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject"],
        resources: ["arn:aws:s3:::*/*"],
        conditions: { StringEquals: { "aws:ResourceOrgID": org.organization_id } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:ResourceOrgID": org.organization_id } },
      }),
    );
  }
}
if (org.identity_center && (topo.access_groups || []).length) {
  const s = stack(org.management_account, "identity");
  for (const g of topo.access_groups) {
    const id = g.name.replace(/[^A-Za-z0-9]/g, "");
    const ps = new sso.CfnPermissionSet(s, `PermissionSet${id}`, {
      name: `mesh-${g.name}`.slice(0, 32),
      description: `Athena in the central account for ${g.name}`,
      instanceArn: org.identity_center.instance_arn,
      sessionDuration: "PT8H",
      inlinePolicy: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["athena:*"], Resource: "*" }],
      },
    });
    new sso.CfnAssignment(s, `Assignment${id}`, {
      instanceArn: org.identity_center.instance_arn,
      permissionSetArn: ps.attrPermissionSetArn,
      principalType: "GROUP",
      principalId: g.group_id,
      targetType: "AWS_ACCOUNT",
      targetId: org.central_account,
    });
  }
}

const assembly = app.synth();
for (const [account, policy] of policies) {
  fs.mkdirSync(path.join(outdir, account), { recursive: true });
  fs.writeFileSync(path.join(outdir, account, "glue-resource-policy.json"), JSON.stringify(policy, null, 2) + "\n");
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.error(`cdk synth: ${seconds.toFixed(2)} s, ${assembly.stacks.length} stacks, ${policies.length} Glue catalog policies`);
