//! The Glue table parameters that make a table queryable in Athena on day one:
//! partition projection (Athena computes the partitions from these settings,
//! so nothing registers partitions and no crawler runs), the S3 path template
//! of the partitions, and what engines read from a Parquet table
//! (`classification`, compression).
//!
//! Pure: the validated model in, a sorted map of parameters out. The data
//! layout it describes is Hive style, one `key=value` folder per partition
//! key under the table's folder:
//! `s3://<bucket>/<domain>/<product>/v<n>/<table>/dt=2024-05-01/hour=7/`.

use std::collections::BTreeMap;

use crate::model::{Projection, Table};

/// How far back a date key without `since` reaches (Athena's relative range).
pub(crate) const DEFAULT_DATE_RANGE_START: &str = "NOW-3YEARS";

/// The compression codec writers are told to use (Parquet files carry their
/// codec in their footer, so readers do not depend on it).
pub(crate) const PARQUET_COMPRESSION: &str = "SNAPPY";

/// Every table parameter meshsynth sets, for a table whose data lives at
/// `location` (`s3://…/<table>/`, with the trailing slash).
pub(crate) fn table_parameters(table: &Table, location: &str) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert("classification".to_owned(), "parquet".to_owned());
    p.insert("EXTERNAL".to_owned(), "TRUE".to_owned());
    p.insert("parquet.compression".to_owned(), PARQUET_COMPRESSION.to_owned());
    p.insert("compressionType".to_owned(), PARQUET_COMPRESSION.to_ascii_lowercase());
    if table.partition_keys.is_empty() {
        return p;
    }
    p.insert("projection.enabled".to_owned(), "true".to_owned());
    let mut template = location.to_owned();
    for key in &table.partition_keys {
        for part in [&key.name, "=${", &key.name, "}/"] {
            template.push_str(part);
        }
        let projection = key.projection.as_ref().unwrap_or(&Projection::Injected);
        for (k, v) in key_parameters(&key.name, projection) {
            p.insert(k, v);
        }
    }
    p.insert("storage.location.template".to_owned(), template);
    p
}

/// The `projection.<key>.*` parameters of one key.
pub(crate) fn key_parameters(key: &str, projection: &Projection) -> Vec<(String, String)> {
    let k = |suffix: &str| ["projection.", key, ".", suffix].concat();
    let mut out = vec![(k("type"), projection.kind().to_owned())];
    match projection {
        Projection::Date { format, since, unit } => {
            let start = since
                .as_deref()
                .and_then(|s| render_date(format, s))
                .unwrap_or_else(|| DEFAULT_DATE_RANGE_START.to_owned());
            out.push((k("format"), format.clone()));
            out.push((k("range"), format!("{start},NOW")));
            out.push((k("interval"), "1".to_owned()));
            out.push((k("interval.unit"), unit.as_str().to_owned()));
        }
        Projection::Integer { min, max } => {
            out.push((k("range"), format!("{min},{max}")));
        }
        Projection::Enum { values } => {
            out.push((k("values"), values.join(",")));
        }
        Projection::Injected => {}
    }
    out
}

/// Midnight of the date `YYYY-MM-DD` written in a Java date pattern of
/// `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss` (validated), e.g. `yyyy/MM/dd/HH` →
/// `2024/05/01/00`. `None` when `date` is not `YYYY-MM-DD`.
pub(crate) fn render_date(format: &str, date: &str) -> Option<String> {
    let (y, m, d) = (date.get(0..4)?, date.get(5..7)?, date.get(8..10)?);
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        let run = rest.chars().take_while(|x| *x == c).count();
        let (field, tail) = rest.split_at(run * c.len_utf8());
        out.push_str(match field {
            "yyyy" => y,
            "MM" => m,
            "dd" => d,
            "HH" | "mm" | "ss" => "00",
            other => other,
        });
        rest = tail;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, DateUnit};

    fn key(name: &str, ty: &str, projection: Projection) -> Column {
        Column {
            name: name.to_owned(),
            ty: ty.to_owned(),
            comment: None,
            projection: Some(projection),
            sensitive: false,
        }
    }

    fn table(keys: Vec<Column>) -> Table {
        Table {
            name: "plays".to_owned(),
            description: None,
            columns: vec![Column {
                name: "id".to_owned(),
                ty: "string".to_owned(),
                comment: None,
                projection: None,
                sensitive: false,
            }],
            partition_keys: keys,
        }
    }

    const LOCATION: &str = "s3://acast-111111111111-eu-west-1-mesh/podcasts/plays/v2/plays/";

    fn params(keys: Vec<Column>) -> BTreeMap<String, String> {
        table_parameters(&table(keys), LOCATION)
    }

    #[test]
    fn date_key_with_since() {
        let p = params(vec![key(
            "dt",
            "date",
            Projection::Date {
                format: "yyyy-MM-dd".into(),
                since: Some("2023-04-01".into()),
                unit: DateUnit::Days,
            },
        )]);
        assert_eq!(p["projection.enabled"], "true");
        assert_eq!(p["projection.dt.type"], "date");
        assert_eq!(p["projection.dt.format"], "yyyy-MM-dd");
        assert_eq!(p["projection.dt.range"], "2023-04-01,NOW");
        assert_eq!(p["projection.dt.interval"], "1");
        assert_eq!(p["projection.dt.interval.unit"], "DAYS");
        assert_eq!(p["storage.location.template"], format!("{LOCATION}dt=${{dt}}/"));
    }

    #[test]
    fn date_key_without_since_reaches_back_three_years() {
        let p = params(vec![key(
            "dt",
            "date",
            Projection::Date {
                format: "yyyy-MM-dd".into(),
                since: None,
                unit: DateUnit::Days,
            },
        )]);
        assert_eq!(p["projection.dt.range"], "NOW-3YEARS,NOW");
    }

    #[test]
    fn hourly_string_key_writes_since_in_its_format() {
        let p = params(vec![key(
            "ts",
            "string",
            Projection::Date {
                format: "yyyy/MM/dd/HH".into(),
                since: Some("2024-02-29".into()),
                unit: DateUnit::Hours,
            },
        )]);
        assert_eq!(p["projection.ts.range"], "2024/02/29/00,NOW");
        assert_eq!(p["projection.ts.interval.unit"], "HOURS");
    }

    #[test]
    fn integer_enum_and_injected_keys() {
        let p = params(vec![
            key(
                "dt",
                "date",
                Projection::Date {
                    format: "yyyy-MM-dd".into(),
                    since: None,
                    unit: DateUnit::Days,
                },
            ),
            key("hour", "tinyint", Projection::Integer { min: 0, max: 23 }),
            key(
                "platform",
                "string",
                Projection::Enum {
                    values: vec!["web".into(), "ios".into(), "android".into()],
                },
            ),
            key("show", "string", Projection::Injected),
        ]);
        assert_eq!(p["projection.hour.type"], "integer");
        assert_eq!(p["projection.hour.range"], "0,23");
        assert_eq!(p["projection.platform.type"], "enum");
        assert_eq!(p["projection.platform.values"], "web,ios,android");
        assert_eq!(p["projection.show.type"], "injected");
        assert!(!p.contains_key("projection.show.range"));
        assert_eq!(
            p["storage.location.template"],
            format!("{LOCATION}dt=${{dt}}/hour=${{hour}}/platform=${{platform}}/show=${{show}}/")
        );
    }

    #[test]
    fn unpartitioned_tables_get_no_projection_but_parquet_parameters() {
        let p = params(Vec::new());
        assert!(!p.keys().any(|k| k.starts_with("projection.")));
        assert!(!p.contains_key("storage.location.template"));
        assert_eq!(p["classification"], "parquet");
        assert_eq!(p["parquet.compression"], "SNAPPY");
        assert_eq!(p["compressionType"], "snappy");
    }

    #[test]
    fn render_date_fills_every_field() {
        assert_eq!(
            render_date("yyyy-MM-dd HH:mm:ss", "2024-05-01").as_deref(),
            Some("2024-05-01 00:00:00")
        );
        assert_eq!(render_date("yyyyMMdd", "2024-05-01").as_deref(), Some("20240501"));
        assert_eq!(render_date("yyyy", "bad"), None);
    }
}
