//! The topology exactly as the user wrote it: serde structs mirroring the YAML
//! (or JSON) 1:1, with the source position of every value that a semantic
//! error may need to point at.
//!
//! Nothing here is validated beyond its shape; `validate` turns these into the
//! typed model. Unknown keys are rejected here (`deny_unknown_fields`), because
//! a typo in an access rule must never silently drop access.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// A value and where it was written (line and column, 1-based; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S<T> {
    pub(crate) value: T,
    pub(crate) line: u32,
    pub(crate) col: u32,
}

/// How `S<T>` learns where its value was written, set by the loader for the
/// duration of one parse.
enum SpanSource {
    /// serde-saphyr (YAML, and JSON as YAML) knows positions itself.
    Saphyr,
    /// The fast YAML path (`load`'s `yaml_fast`) publishes the position of each
    /// value just before it is deserialised.
    Fast,
    /// serde_json does not: the loader's reader counts the bytes serde_json has
    /// consumed, and the position is recovered from that offset and the text.
    Json {
        text: std::rc::Rc<str>,
        line_starts: std::rc::Rc<[usize]>,
        consumed: std::rc::Rc<std::cell::Cell<usize>>,
        /// The line of the previous value (1-based; 0 before the first).
        cursor: std::cell::Cell<usize>,
    },
}

/// Lines to add to every position serde-saphyr reports: the loader parses the
/// team items of a large single file in chunks, each starting at this line.
pub(crate) fn with_line_offset<R>(offset: u32, parse: impl FnOnce() -> R) -> R {
    let before = LINE_OFFSET.with(|o| o.replace(offset));
    let result = parse();
    LINE_OFFSET.with(|o| o.set(before));
    result
}

/// Runs `parse` with positions taken from the fast YAML path (`set_fast_position`).
pub(crate) fn with_fast_spans<R>(parse: impl FnOnce() -> R) -> R {
    let before = SPAN_SOURCE.with(|s| s.replace(SpanSource::Fast));
    let result = parse();
    SPAN_SOURCE.with(|s| s.replace(before));
    result
}

/// Where the value the fast YAML path is about to deserialise was written.
pub(crate) fn set_fast_position(line: u32, col: u32) {
    FAST_AT.with(|at| at.set((line, col)));
}

thread_local! {
    static FAST_AT: std::cell::Cell<(u32, u32)> = const { std::cell::Cell::new((0, 0)) };
    static LINE_OFFSET: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static SPAN_SOURCE: std::cell::RefCell<SpanSource> = const { std::cell::RefCell::new(SpanSource::Saphyr) };
}

/// Parses JSON `text` with serde_json, recording positions from the byte count
/// of the reader: several times faster than the YAML parser on large files.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let consumed = std::rc::Rc::new(std::cell::Cell::new(0));
    let line_starts: std::rc::Rc<[usize]> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let source = SpanSource::Json {
        text: std::rc::Rc::from(text),
        line_starts,
        consumed: consumed.clone(),
        cursor: std::cell::Cell::new(0),
    };
    let before = SPAN_SOURCE.with(|s| s.replace(source));
    let reader = CountingReader {
        bytes: text.as_bytes(),
        consumed,
    };
    let result = serde_json::from_reader(reader);
    SPAN_SOURCE.with(|s| s.replace(before));
    result
}

/// A byte slice reader that publishes how much of the slice has been read.
struct CountingReader<'a> {
    bytes: &'a [u8],
    consumed: std::rc::Rc<std::cell::Cell<usize>>,
}

impl std::io::Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        self.consumed.set(self.consumed.get() + n);
        Ok(n)
    }
}

/// The 1-based line and column of the value that starts at or just before
/// `consumed`: serde_json has either just eaten the `:` before a map value
/// (the value starts after optional whitespace) or peeked the first byte of a
/// sequence element (the value starts one byte back).
fn json_position(text: &str, line_starts: &[usize], cursor: &std::cell::Cell<usize>, consumed: usize) -> (u32, u32) {
    let bytes = text.as_bytes();
    let mut at = consumed.min(bytes.len());
    if at > 0 && bytes[at - 1] != b':' && bytes[at - 1] != b',' {
        at -= 1;
    } else {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
    }
    // Values arrive in document order, so the line is found by walking forward
    // from the previous one (a binary search from scratch when going back).
    let mut line = cursor.get();
    if line == 0 || line > line_starts.len() || line_starts[line - 1] > at {
        line = line_starts.partition_point(|&s| s <= at);
    } else {
        while line < line_starts.len() && line_starts[line] <= at {
            line += 1;
        }
    }
    cursor.set(line);
    let line_start = line_starts[line.saturating_sub(1)];
    let col = text.get(line_start..at).map_or(at - line_start, |s| s.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for S<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json_at = SPAN_SOURCE.with(|s| match &*s.borrow() {
            SpanSource::Saphyr => None,
            SpanSource::Fast => Some(FAST_AT.with(std::cell::Cell::get)),
            SpanSource::Json {
                text,
                line_starts,
                consumed,
                cursor,
            } => Some(json_position(text, line_starts, cursor, consumed.get())),
        });
        if let Some((line, col)) = json_at {
            return Ok(S {
                value: T::deserialize(deserializer)?,
                line,
                col,
            });
        }
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let at = spanned.referenced;
        let line = u32::try_from(at.line()).unwrap_or(u32::MAX);
        Ok(S {
            value: spanned.value,
            // 0 is "unknown" and stays so.
            line: if line == 0 {
                0
            } else {
                line.saturating_add(LINE_OFFSET.with(std::cell::Cell::get))
            },
            col: u32::try_from(at.column()).unwrap_or(u32::MAX),
        })
    }
}

impl<T: JsonSchema> JsonSchema for S<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A meshsynth topology (format v2): the whole org in single-file form, or `org.yaml`
/// of the directory form (where `teams` is absent and each team has its own file).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopology {
    /// Format version; must be 2 (a version-1 topology is refused with the grants to add).
    #[schemars(range(min = 2, max = 2))]
    pub(crate) version: S<i64>,
    pub(crate) org: S<RawOrg>,
    #[serde(default)]
    pub(crate) domains: Vec<S<RawDomain>>,
    #[serde(default)]
    pub(crate) access_groups: Vec<S<RawAccessGroup>>,
    #[serde(default)]
    pub(crate) teams: Option<S<Vec<S<RawTeam>>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOrg {
    pub(crate) name: S<String>,
    pub(crate) organization_id: S<String>,
    pub(crate) management_account: S<String>,
    pub(crate) central_account: S<String>,
    pub(crate) region: S<String>,
    #[serde(default)]
    pub(crate) deploy_role: Option<S<String>>,
    #[serde(default)]
    /// How read access is expressed: resource policies (`iam`, default) or Lake Formation grants.
    #[schemars(extend("enum" = ["iam", "lakeformation"]))]
    pub(crate) access_mode: Option<S<String>>,
    #[serde(default)]
    pub(crate) identity_center: Option<S<RawIdentityCenter>>,
    /// Code owners of `org.yaml` (and of team files whose team names none) for `meshsynth codeowners`:
    /// `@org/team`, `@user` or an e-mail address.
    #[serde(default)]
    pub(crate) owners: Option<S<Vec<S<String>>>>,
    #[serde(default)]
    pub(crate) tags: Option<S<BTreeMap<String, String>>>,
    /// Access mode lakeformation: IAM role names (in every account) made data lake
    /// administrators besides the deploy role.
    #[serde(default)]
    pub(crate) data_lake_admins: Option<S<Vec<S<String>>>>,
    /// Access mode lakeformation, for one deploy while switching from `iam`: keep the iam
    /// mode's read paths (bucket, key and Glue catalog policies, reader roles' S3 and KMS
    /// rights) beside the Lake Formation grants, so no reader loses access mid-way. Default false.
    #[serde(default)]
    pub(crate) keep_iam_paths: Option<S<bool>>,
    /// Days after which Athena query results expire (default 30).
    #[serde(default)]
    #[schemars(range(min = 1, max = 3650))]
    pub(crate) query_results_days: Option<S<i64>>,
    #[serde(default)]
    /// S3 server access logging of the data and staging buckets into a per-account log bucket
    /// (`<org>-<account>-<region>-logs`, kept 365 days). Default true. Delivery is free; the
    /// log objects cost S3 storage (about 1 GB per 2.5 million requests).
    pub(crate) access_logs: Option<S<bool>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdentityCenter {
    pub(crate) instance_arn: S<String>,
    pub(crate) identity_store_id: S<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDomain {
    pub(crate) name: S<String>,
    #[serde(default)]
    pub(crate) description: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccessGroup {
    pub(crate) name: S<String>,
    /// The Identity Center identity-store group id.
    pub(crate) group_id: S<String>,
    /// Open: every open product. Restricted: every open product plus `products`.
    #[schemars(extend("enum" = ["open", "restricted"]))]
    pub(crate) access: S<String>,
    #[serde(default)]
    pub(crate) products: Option<S<Vec<S<String>>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTeam {
    pub(crate) name: S<String>,
    pub(crate) domain: S<String>,
    #[serde(default)]
    pub(crate) steward: Option<S<String>>,
    #[serde(default)]
    pub(crate) contact: Option<S<String>>,
    /// Code owners of this team's file for `meshsynth codeowners`: `@org/team`, `@user` or an
    /// e-mail address. With required code-owner review, changes to the file (its grants
    /// included) merge only with their approval.
    #[serde(default)]
    pub(crate) owners: Option<S<Vec<S<String>>>>,
    #[serde(default)]
    pub(crate) accounts: Vec<S<RawAccount>>,
    #[serde(default)]
    pub(crate) products: Vec<S<RawProduct>>,
    #[serde(default)]
    pub(crate) consumes: Vec<S<RawConsume>>,
    #[serde(default)]
    pub(crate) service_roles: Vec<S<RawServiceRole>>,
    /// Where the freshness alarms of this team's products notify: e-mail addresses,
    /// or ARNs of an existing SNS topic or AWS Chatbot (Amazon Q Developer) channel.
    #[serde(default)]
    pub(crate) alerts: Option<S<Vec<S<String>>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccount {
    /// The 12-digit account id, quoted.
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub(crate) id: S<String>,
    pub(crate) name: S<String>,
    /// The account's environment.
    #[schemars(extend("enum" = ["prod", "staging", "dev", "sandbox"]))]
    pub(crate) environment: S<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProduct {
    pub(crate) name: S<String>,
    pub(crate) account: S<String>,
    /// Open: readable org-wide. Restricted: only by steward-approved consumers.
    #[schemars(extend("enum" = ["open", "restricted"]))]
    pub(crate) classification: S<String>,
    #[serde(default)]
    pub(crate) description: Option<S<String>>,
    #[serde(default)]
    pub(crate) slo: Option<S<RawSlo>>,
    pub(crate) versions: S<Vec<S<RawVersion>>>,
    /// Restricted products only: the data steward's grants of read access.
    #[serde(default)]
    pub(crate) grants: Option<S<Vec<S<RawGrant>>>>,
}

/// A steward's grant of a restricted product, written in the producer's file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGrant {
    /// A consuming account (12 digits, quoted); exclusive with `access_group`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub(crate) account: Option<S<String>>,
    /// A restricted access group of the central account; exclusive with `account`.
    #[serde(default)]
    pub(crate) access_group: Option<S<String>>,
    /// Only these restricted service roles of `account` (default: every one that lists the product).
    #[serde(default)]
    pub(crate) roles: Option<S<Vec<S<String>>>>,
    /// Only these versions (default: every live version).
    #[serde(default)]
    pub(crate) versions: Option<S<Vec<S<i64>>>>,
    /// The producing team's data steward, who approved this grant.
    pub(crate) approved_by: S<String>,
    /// Why, shown in reviews (e.g. a ticket).
    #[serde(default)]
    pub(crate) reason: Option<S<String>>,
    /// `all`: the grantee also reads the product's sensitive columns (access mode lakeformation).
    #[serde(default)]
    #[schemars(extend("enum" = ["all"]))]
    pub(crate) columns: Option<S<String>>,
    /// `YYYY-MM-DD`: from that day (UTC) the grant gives no access.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub(crate) expires: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlo {
    #[serde(default)]
    /// How often a new partition lands.
    #[schemars(extend("enum" = ["hourly", "daily", "weekly"]))]
    pub(crate) freshness: Option<S<String>>,
    #[serde(default)]
    /// Time of day (UTC) by which the new partition is readable, e.g. "06:00Z".
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]Z$"))]
    pub(crate) available_by: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVersion {
    pub(crate) version: S<i64>,
    /// Lifecycle of this version.
    #[schemars(extend("enum" = ["active", "deprecated", "retired"]))]
    pub(crate) status: S<String>,
    #[serde(default)]
    pub(crate) tables: Vec<S<RawTable>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    pub(crate) name: S<String>,
    #[serde(default)]
    pub(crate) description: Option<S<String>>,
    #[serde(default)]
    pub(crate) columns: Vec<S<RawColumn>>,
    #[serde(default)]
    pub(crate) partition_keys: Vec<S<RawColumn>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawColumn {
    pub(crate) name: S<String>,
    #[serde(rename = "type")]
    pub(crate) ty: S<String>,
    #[serde(default)]
    pub(crate) comment: Option<S<String>>,
    /// A field that org-wide Lake Formation grants leave out (columns only, not partition keys).
    #[serde(default)]
    pub(crate) sensitive: Option<S<bool>>,
    /// Partition keys only: how Athena enumerates this key's values (partition
    /// projection). Optional: a `date` key defaults to `type: date`, any other
    /// key to `type: injected`.
    #[serde(default)]
    pub(crate) projection: Option<S<RawProjection>>,
}

/// Partition projection of one partition key (Athena computes partitions
/// from these settings instead of reading them from the catalog).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProjection {
    /// `date`: a range of dates from `since` to now; `integer`: the whole numbers of `range`;
    /// `enum`: the `values` listed; `injected`: every query names the value in its WHERE clause.
    #[serde(rename = "type", default)]
    #[schemars(extend("enum" = ["date", "integer", "enum", "injected"]))]
    pub(crate) ty: Option<S<String>>,
    /// `date` only: the first day that has data, `YYYY-MM-DD` (default: three years before today).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub(crate) since: Option<S<String>>,
    /// `date` only: how the value is written in the S3 path, as a Java date pattern of
    /// `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss` and separators (default `yyyy-MM-dd`).
    #[serde(default)]
    pub(crate) format: Option<S<String>>,
    /// `date` only: the step between two partitions (default: `HOURS` when the format has `HH`, else `DAYS`).
    #[serde(default)]
    #[schemars(extend("enum" = ["YEARS", "MONTHS", "WEEKS", "DAYS", "HOURS", "MINUTES"]))]
    pub(crate) unit: Option<S<String>>,
    /// `integer` only: the smallest and the largest value, e.g. `[0, 23]`.
    #[serde(default)]
    pub(crate) range: Option<S<Vec<S<i64>>>>,
    /// `enum` only: every value the key takes.
    #[serde(default)]
    pub(crate) values: Option<S<Vec<S<String>>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConsume {
    /// `<domain>.<product>@<version>`.
    #[schemars(regex(pattern = r"^[a-z0-9-]+\.[a-z0-9-]+@[1-9][0-9]*$"))]
    pub(crate) product: S<String>,
    /// The consuming account, one of this team's (12 digits, quoted).
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub(crate) account: S<String>,
    #[serde(default)]
    pub(crate) purpose: Option<S<String>>,
    /// Format v1 only: refused in v2, where the producer's steward grants access in the producer's file.
    #[serde(default)]
    #[schemars(skip)]
    pub(crate) approved_by: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServiceRole {
    /// The IAM role name of the job (e.g. an Airflow execution role).
    pub(crate) name: S<String>,
    /// The IAM path of the existing role (default `/`), e.g. `/service-role/`.
    #[serde(default)]
    pub(crate) path: Option<S<String>>,
    /// The account the role lives in; one of this team's.
    pub(crate) account: S<String>,
    /// Open: every open product. Restricted: every open product plus `products`, each consumed by `account` and granted by its producer.
    #[schemars(extend("enum" = ["open", "restricted"]))]
    pub(crate) access: S<String>,
    #[serde(default)]
    pub(crate) products: Option<S<Vec<S<String>>>>,
}
