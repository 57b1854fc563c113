//! The command line as clap sees it: derive types only, no logic.
//!
//! `commands::run` turns these into `Settings` and dispatches; nothing past
//! `commands` sees a clap type.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (validate: valid, warnings allowed; synth --check: up to date; plan/deploy: done;
     drift: nothing drifted)
  1  a finding: invalid topology, stale output, destructive change refused, a stack failed,
     drift found
  2  usage error, unreadable input, no credentials, AWS unreachable";

/// Turn one org-wide description of a data mesh on AWS into CloudFormation, and deploy it.
#[derive(Debug, Parser)]
#[command(name = "meshsynth", version, about, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// A topology file or directory
    #[arg(short, long, global = true, value_name = "PATH", default_value = "accounts")]
    pub(crate) topology: PathBuf,
    /// Send every AWS call here (also AWS_ENDPOINT_URL), e.g. a local emulator
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// Region for AWS calls (overrides org.region)
    #[arg(long, global = true, value_name = "R")]
    pub(crate) region: Option<String>,
    /// AWS profile for the starting credentials
    #[arg(long, global = true, value_name = "P")]
    pub(crate) profile: Option<String>,
    /// When to colour output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print more about what happens
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Fail (exit 1) when the topology has warnings, e.g. consumers on deprecated versions
    #[arg(long, global = true)]
    pub(crate) deny_warnings: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check the topology; warnings on stderr
    Validate(ValidateArgs),
    /// The producer -> consumer graph (whole org, or around one product)
    Graph(GraphArgs),
    /// Write every stack template and the manifest
    Synth(SynthArgs),
    /// Offline review of two syntheses: what changes, and what would be replaced or removed
    Diff(DiffArgs),
    /// Consumers per version of a product, their accounts, and whom to notify
    Impact(ImpactArgs),
    /// Create a change set for every stack, wait for them and print the review; executes nothing
    Plan(PlanArgs),
    /// Plan, ask, then execute the change sets in dependency order
    Deploy(DeployArgs),
    /// What changed in AWS outside meshsynth: CloudFormation drift and the live access surface
    Drift(DriftArgs),
    /// Compare the topology with AWS Organizations, or draft one from it
    #[command(subcommand)]
    Org(OrgCommand),
    /// Scaffold accounts/teams/NAME.yaml for a new team
    NewTeam(NewTeamArgs),
    /// Print the JSON Schema of the topology format
    Schema(SchemaArgs),
    /// Print what a blueprint is given: the context of a stack part for this topology, or its JSON Schema
    BlueprintContext(BlueprintContextArgs),
    /// Rewrite a version-1 topology as version 2 (approvals become the producers' grants)
    Migrate,
    /// CODEOWNERS lines from `owners`: each team file to its team, the org file to the org's owners
    Codeowners(CodeownersArgs),
}

/// `validate`'s options.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// An older topology (file or directory) to compare with: exit 1 when a live
    /// product version changes in a way that breaks its consumers
    #[arg(long, value_name = "OLD_TOPOLOGY")]
    pub(crate) against: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub(crate) format: GraphFormat,
    /// Only the neighbourhood of this product (`<domain>.<product>`)
    #[arg(long, value_name = "ID")]
    pub(crate) product: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    /// Output folder
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub(crate) out: PathBuf,
    /// Write nothing; fail if DIR is not what synth would write
    #[arg(long)]
    pub(crate) check: bool,
    /// Blueprints that override the built-in ones (file names as in blueprints/)
    #[arg(long, value_name = "DIR")]
    pub(crate) blueprints: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReviewFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The older synthesis (e.g. out/ of the base branch)
    pub(crate) old_dir: PathBuf,
    /// The newer synthesis
    pub(crate) new_dir: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    pub(crate) format: ReviewFormat,
    /// Exit 1 when anything changed
    #[arg(long)]
    pub(crate) exit_code: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImpactArgs {
    /// `<domain>.<product>` or `<domain>.<product>@<version>`
    pub(crate) product: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ImpactFormat::Text)]
    pub(crate) format: ImpactFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ImpactFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The synthesised output to plan
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub(crate) out: PathBuf,
    /// Only these accounts (repeatable)
    #[arg(long = "account", value_name = "ID")]
    pub(crate) accounts: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    pub(crate) format: ReviewFormat,
    /// How many accounts to work on at once (each account's stacks together)
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) concurrency: u16,
    #[command(flatten)]
    pub(crate) aws: AwsRunArgs,
}

/// Which role to assume and how long to wait for AWS (plan and deploy).
#[derive(Debug, Clone, Args)]
pub(crate) struct AwsRunArgs {
    /// Assume this role in every account instead of org.deploy_role (e.g. a read-only role for plan)
    #[arg(long, value_name = "NAME")]
    pub(crate) role: Option<String>,
    /// Give up on one AWS call (the SDK's retries included) after SECS seconds
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) call_timeout: u64,
    /// Give up waiting for one change set or stack after SECS seconds
    #[arg(long, value_name = "SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) wait_timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The synthesised output to deploy
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub(crate) out: PathBuf,
    /// Only these accounts (repeatable)
    #[arg(long = "account", value_name = "ID")]
    pub(crate) accounts: Vec<String>,
    /// Do not ask for confirmation
    #[arg(long)]
    pub(crate) yes: bool,
    /// Allow changes that remove or replace a stateful resource, or delete a stack: all of them
    /// (bare flag), or exactly the ones named (repeatable; `plan` prints the values to pass)
    #[arg(
        long,
        value_name = "ACCOUNT/STACK/LOGICAL_ID",
        num_args = 0..=1,
        default_missing_value = "",
        action = clap::ArgAction::Append
    )]
    pub(crate) allow_destructive: Vec<String>,
    /// How many accounts to work on at once (each account's stacks together)
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) concurrency: u16,
    #[command(flatten)]
    pub(crate) aws: AwsRunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DriftArgs {
    /// The synthesised output to compare with
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub(crate) out: PathBuf,
    /// Only these accounts (repeatable)
    #[arg(long = "account", value_name = "ID")]
    pub(crate) accounts: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    pub(crate) format: ReviewFormat,
    /// Put the synthesis back: the documents that drifted, and drifted stacks (after asking)
    #[arg(long)]
    pub(crate) repair: bool,
    /// With --repair: do not ask for confirmation
    #[arg(long, requires = "repair")]
    pub(crate) yes: bool,
    /// How many accounts to work on at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) concurrency: u16,
    #[command(flatten)]
    pub(crate) aws: AwsRunArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrgCommand {
    /// Compare the topology's accounts with AWS Organizations
    Check(OrgCheckArgs),
    /// Draft a topology from AWS Organizations (accounts grouped by tag)
    Import(OrgImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct OrgCheckArgs {
    /// The account tag whose value names the owning team (tagged accounts missing from the topology are listed)
    #[arg(long, value_name = "KEY", default_value = "team")]
    pub(crate) tag_key: String,
}

#[derive(Debug, Args)]
pub(crate) struct OrgImportArgs {
    /// The account tag whose value names the owning team
    #[arg(long, value_name = "KEY", default_value = "team")]
    pub(crate) tag_key: String,
    /// Where to write the draft (org.yaml and teams/)
    #[arg(long, value_name = "DIR", default_value = "accounts")]
    pub(crate) out: PathBuf,
    /// `org.name` of the draft (part of every bucket name); a TODO placeholder otherwise
    #[arg(long, value_name = "NAME")]
    pub(crate) org_name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct NewTeamArgs {
    /// The team's name (lowercase, digits and `-`)
    pub(crate) name: String,
    /// The domain the team belongs to
    #[arg(long, value_name = "D")]
    pub(crate) domain: String,
    /// An account of the team (repeatable)
    #[arg(long = "account", value_name = "ID", required = true)]
    pub(crate) accounts: Vec<String>,
    /// The account's name (repeatable, in the order of --account; default `<team>-<environment>`)
    #[arg(long = "account-name", value_name = "N")]
    pub(crate) account_names: Vec<String>,
    /// The account's environment: prod, staging, dev or sandbox (repeatable, in the order of
    /// --account, or once for all; default prod)
    #[arg(long = "environment", value_name = "E")]
    pub(crate) environments: Vec<String>,
    /// The team's data steward (approves access to restricted products)
    #[arg(long, value_name = "EMAIL")]
    pub(crate) steward: Option<String>,
    /// Where the team's consumers are notified, e.g. "#team-recs"
    #[arg(long, value_name = "CHANNEL")]
    pub(crate) contact: Option<String>,
}

/// `blueprint-context`'s options.
#[derive(Debug, Args)]
pub(crate) struct BlueprintContextArgs {
    /// The blueprint: a stack part, or the Glue catalog policy
    #[arg(value_enum)]
    pub(crate) part: BlueprintPart,
    /// Only the stacks of this account (12 digits)
    #[arg(long, value_name = "ID", conflicts_with = "schema")]
    pub(crate) account: Option<String>,
    /// Print the context's JSON Schema instead (needs no topology)
    #[arg(long)]
    pub(crate) schema: bool,
}

/// The blueprints that get a context of their own (partials see a part's context).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BlueprintPart {
    Baseline,
    Products,
    Consumer,
    Central,
    Identity,
    Access,
    GlueResourcePolicy,
}

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// The schema of one team file (`teams/<team>.yaml`) instead of a whole topology
    #[arg(long)]
    pub(crate) team: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CodeownersArgs {
    /// Write to FILE (e.g. .github/CODEOWNERS) instead of stdout; unchanged files are not rewritten
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Write nothing; exit 1, showing what differs, when FILE is not what would be written
    #[arg(long, requires = "out")]
    pub(crate) check: bool,
}
