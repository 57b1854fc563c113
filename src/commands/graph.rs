//! `meshsynth graph`: the producer → consumer graph as dot, Mermaid or JSON.

use super::{load_topology, Io};
use crate::cli::{GraphArgs, GraphFormat};
use crate::error::{Error, Result};
use crate::exit::{ExitCode, Finding};
use crate::graph::OrgGraph;
use crate::model::ProductId;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &GraphArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let product = match &args.product {
        Some(p) => Some(ProductId::parse(p).ok_or_else(|| {
            Error::usage(format!(
                "`{p}` is not a product id (write `<domain>.<product>`, e.g. podcasts.episodes)"
            ))
        })?),
        None => None,
    };
    let t = load_topology(settings, io)?;
    let whole = OrgGraph::build(&t);
    let g = match &product {
        Some(p) => whole
            .around_product(p)
            .ok_or_else(|| Finding(format!("product `{p}` is not in the topology")))?,
        None => whole,
    };
    let text = match args.format {
        GraphFormat::Json => {
            let mut s = serde_json::to_string_pretty(&g.to_json())?;
            s.push('\n');
            s
        }
        GraphFormat::Dot => g.to_dot(),
        GraphFormat::Mermaid => g.to_mermaid(),
    };
    io.out.write_all(text.as_bytes())?;
    Ok(ExitCode::Success)
}
