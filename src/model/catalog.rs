//! Validated catalog settings of the topology: partition projection of a
//! partition key, and where a team's freshness alarms notify.
//!
//! Plain data: `validate` builds these, `synth` turns them into Glue table
//! parameters and alarm actions.

use std::fmt;

/// How Athena enumerates the values of one partition key (partition
/// projection), so that a table is queryable without registered partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// A range of dates (or times) from `since` to now, one partition per `unit`.
    Date {
        /// A Java date pattern of `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss` and separators.
        format: String,
        /// The first day with data, `YYYY-MM-DD`; `None`: three years before today.
        since: Option<String>,
        unit: DateUnit,
    },
    /// The whole numbers from `min` to `max`.
    Integer { min: i64, max: i64 },
    /// Exactly these values, in the order written.
    Enum { values: Vec<String> },
    /// Every query names the value (`WHERE key = '…'`).
    Injected,
}

impl Projection {
    /// The name Athena uses (`projection.<key>.type`).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Projection::Date { .. } => "date",
            Projection::Integer { .. } => "integer",
            Projection::Enum { .. } => "enum",
            Projection::Injected => "injected",
        }
    }
}

/// The step between two partitions of a date key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DateUnit {
    Years,
    Months,
    Weeks,
    Days,
    Hours,
    Minutes,
}

impl DateUnit {
    /// Parses the Athena spelling (`DAYS`); `None` otherwise.
    pub(crate) fn parse(s: &str) -> Option<DateUnit> {
        Some(match s {
            "YEARS" => DateUnit::Years,
            "MONTHS" => DateUnit::Months,
            "WEEKS" => DateUnit::Weeks,
            "DAYS" => DateUnit::Days,
            "HOURS" => DateUnit::Hours,
            "MINUTES" => DateUnit::Minutes,
            _ => return None,
        })
    }

    /// The Athena spelling (`projection.<key>.interval.unit`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DateUnit::Years => "YEARS",
            DateUnit::Months => "MONTHS",
            DateUnit::Weeks => "WEEKS",
            DateUnit::Days => "DAYS",
            DateUnit::Hours => "HOURS",
            DateUnit::Minutes => "MINUTES",
        }
    }
}

/// Where a freshness alarm notifies, besides the account's `mesh-alerts` topic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertTarget {
    /// An e-mail subscription of the account's alert topic (the address confirms it once).
    Email(String),
    /// An existing SNS topic, as a second action of each alarm (e.g. the topic a
    /// chat channel of AWS Chatbot already receives).
    Topic(String),
}

impl fmt::Display for AlertTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertTarget::Email(e) => write!(f, "e-mail {e}"),
            AlertTarget::Topic(arn) => write!(f, "topic {arn}"),
        }
    }
}
