//! `meshsynth impact PRODUCT[@VERSION]`: who reads each version (consuming
//! accounts, and for restricted products the service roles and access groups
//! whose request a grant meets), the grants with their expiry, the requests
//! still pending, whom to notify, and whether the version could be retired now.

use serde_json::{json, Value};

use super::{load_topology, Io};
use crate::cli::{ImpactArgs, ImpactFormat};
use crate::error::{Error, Result};
use crate::exit::{ExitCode, Finding};
use crate::model::access::{resolve, Reader, Requester, Resolution};
use crate::model::{Classification, Grantee, Product, ProductId, Topology, Version, VersionStatus};
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, args: &ImpactArgs, io: &mut Io<'_>) -> Result<ExitCode> {
    let (id, version) = target(&args.product)?;
    let t = load_topology(settings, io)?;
    let product = t
        .product(&id)
        .ok_or_else(|| Finding(format!("product `{id}` is not in the topology")))?;
    if let Some(v) = version {
        if !product.versions.contains_key(&v) {
            return Err(Finding(format!("product `{id}` has no version {v}")).into());
        }
    }
    let producer = t.teams.get(&product.team);
    let resolution = resolve(&t);
    let versions: Vec<Value> = product
        .versions
        .values()
        .filter(|v| version.is_none_or(|want| want == v.number))
        .map(|v| version_json(&t, &resolution, product, v))
        .collect();
    let report = json!({
        "format": 1,
        "product": id.to_string(),
        "classification": product.classification.as_str(),
        "producer": {
            "team": product.team,
            "account": product.account.as_str(),
            "contact": producer.and_then(|p| p.contact.clone()),
            "steward": producer.and_then(|p| p.steward.clone()),
        },
        "versions": versions,
    });
    match args.format {
        ImpactFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            io.out.write_all(s.as_bytes())?;
        }
        ImpactFormat::Text => write_text(io, &report)?,
    }
    Ok(ExitCode::Success)
}

/// `PRODUCT[@VERSION]` as given on the command line.
fn target(arg: &str) -> Result<(ProductId, Option<u32>)> {
    let (id, version) = match arg.split_once('@') {
        Some((id, v)) => (
            id,
            Some(
                v.parse::<u32>()
                    .map_err(|_| Error::usage(format!("`{v}` is not a version number (write PRODUCT@2)")))?,
            ),
        ),
        None => (arg, None),
    };
    let id = ProductId::parse(id).ok_or_else(|| {
        Error::usage(format!(
            "`{id}` is not a product id (write `<domain>.<product>`, e.g. podcasts.episodes)"
        ))
    })?;
    Ok((id, version))
}

/// The product's `i`th grant.
fn grant_json(t: &Topology, product: &Product, i: usize) -> Value {
    let g = &product.grants[i];
    json!({
        "to": match &g.to { Grantee::Account(a) => json!({"account": a.as_str()}), Grantee::Group(n) => json!({"access_group": n}) },
        "roles": g.roles,
        "versions": g.versions,
        "approved_by": g.approved_by,
        "reason": g.reason,
        "expires": g.expires.map(|e| e.to_string()),
        "live": g.is_live(t.today),
        "file": g.loc.to_string(),
    })
}

/// Who reads a version: the organisation for open data, else each role and
/// group with the grant that lets it.
fn readers_json(t: &Topology, resolution: &Resolution, product: &Product, v: &Version) -> Vec<Value> {
    if v.status == VersionStatus::Retired {
        return Vec::new();
    }
    if product.classification == Classification::Open {
        return vec![json!({"kind": "organisation", "id": t.org.organization_id})];
    }
    resolution
        .readers_of(&(product.id.clone(), v.number))
        .into_iter()
        .map(|(reader, i)| match reader {
            Reader::Service { account, name } => json!({
                "kind": "service_role", "account": account.as_str(), "name": name, "grant": grant_json(t, product, i),
            }),
            Reader::Group(g) => json!({
                "kind": "access_group", "account": t.org.central_account.as_str(), "name": g, "grant": grant_json(t, product, i),
            }),
        })
        .collect()
}

/// The requests for a version that no grant meets yet.
fn pending_json(t: &Topology, resolution: &Resolution, product: &Product, v: &Version) -> Vec<Value> {
    resolution
        .pending
        .iter()
        .filter(|p| p.product == product.id && p.version.is_none_or(|pv| pv == v.number))
        .map(|p| {
            let (kind, account, name) = match &p.requester {
                Requester::Account(a) => ("account", a.as_str().to_owned(), None),
                Requester::Role { account, name } => ("service_role", account.as_str().to_owned(), Some(name.clone())),
                Requester::Group(g) => (
                    "access_group",
                    t.org.central_account.as_str().to_owned(),
                    Some(g.clone()),
                ),
            };
            json!({"kind": kind, "account": account, "name": name, "requested_at": p.loc.to_string()})
        })
        .collect()
}

/// One version: its consumers, readers, grants, pending requests, alarm,
/// and whether it could be retired now.
fn version_json(t: &Topology, resolution: &Resolution, product: &Product, v: &Version) -> Value {
    let consumers: Vec<_> = t
        .consumes
        .iter()
        .filter(|c| c.product == product.id && c.version == v.number)
        .collect();
    let retirable = consumers.is_empty() && v.status != VersionStatus::Retired;
    let others_active = product
        .versions
        .values()
        .any(|o| o.number != v.number && o.status == VersionStatus::Active);
    let grants: Vec<Value> = (0..product.grants.len())
        .filter(|i| product.grants[*i].covers(v.number))
        .map(|i| grant_json(t, product, i))
        .collect();
    let alarm = crate::synth::alarms::freshness(t, product, v).map(|f| {
        json!({
            "name": f.alarm_name,
            "window": crate::synth::alarms::window_words(f.window_seconds),
            "prefix": f.prefix,
            "notifies": f.actions,
            "emails": f.emails,
        })
    });
    json!({
        "version": v.number,
        "status": v.status.as_str(),
        "slo": product.slo.as_ref().map(|s| json!({"freshness": s.freshness, "available_by": s.available_by})),
        "alarm": alarm,
        "can_retire": retirable && (v.status != VersionStatus::Active || others_active),
        "consumers": consumers.iter().map(|c| {
            let team = t.teams.get(&c.team);
            json!({
                "team": c.team,
                "account": c.account.as_str(),
                "account_name": t.accounts.get(&c.account).map(|a| a.name.clone()),
                "purpose": c.purpose,
                "notify": team.and_then(|t| t.contact.clone()),
            })
        }).collect::<Vec<_>>(),
        "readers": readers_json(t, resolution, product, v),
        "grants": grants,
        "pending": pending_json(t, resolution, product, v),
    })
}

fn write_text(io: &mut Io<'_>, r: &serde_json::Value) -> std::io::Result<()> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    writeln!(
        io.out,
        "{} ({}), produced by team {} in account {} — contact {}",
        s(&r["product"]),
        s(&r["classification"]),
        s(&r["producer"]["team"]),
        s(&r["producer"]["account"]),
        s(&r["producer"]["contact"]),
    )?;
    for v in r["versions"].as_array().into_iter().flatten() {
        let consumers = v["consumers"].as_array().map_or(&[][..], Vec::as_slice);
        writeln!(io.out)?;
        writeln!(
            io.out,
            "v{} {} — {} consumer{}; {}",
            v["version"],
            s(&v["status"]),
            consumers.len(),
            if consumers.len() == 1 { "" } else { "s" },
            if v["can_retire"].as_bool() == Some(true) {
                "can be retired now"
            } else if s(&v["status"]) == "retired" {
                "retired"
            } else if consumers.is_empty() {
                "the only active version: cannot be retired"
            } else {
                "cannot be retired while consumed"
            }
        )?;
        if let Some(line) = slo_line(v) {
            writeln!(io.out, "  {line}")?;
        }
        for c in consumers {
            let name = c["account_name"]
                .as_str()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            writeln!(
                io.out,
                "  team {:<20} account {}{}  notify {}{}",
                s(&c["team"]),
                s(&c["account"]),
                name,
                s(&c["notify"]),
                c["purpose"].as_str().map(|p| format!("  — {p}")).unwrap_or_default(),
            )?;
        }
        let list = |k: &str| v[k].as_array().map_or(&[][..], Vec::as_slice).to_vec();
        for reader in list("readers") {
            match s(&reader["kind"]).as_str() {
                "organisation" => writeln!(io.out, "  read by the whole organisation ({})", s(&reader["id"]))?,
                kind => writeln!(
                    io.out,
                    "  read by {} {} in account {} (granted by {}{})",
                    kind.replace('_', " "),
                    s(&reader["name"]),
                    s(&reader["account"]),
                    s(&reader["grant"]["approved_by"]),
                    reader["grant"]["expires"]
                        .as_str()
                        .map(|e| format!(", expires {e}"))
                        .unwrap_or_default(),
                )?,
            }
        }
        for g in list("grants") {
            let to = g["to"]["account"]
                .as_str()
                .map(|a| format!("account {a}"))
                .or_else(|| g["to"]["access_group"].as_str().map(|n| format!("access group {n}")))
                .unwrap_or_default();
            writeln!(
                io.out,
                "  grant to {to}{}: approved by {}{}{}{}",
                g["roles"]
                    .as_array()
                    .filter(|r| !r.is_empty())
                    .map(|r| format!(" (roles {})", r.iter().map(s).collect::<Vec<_>>().join(", ")))
                    .unwrap_or_default(),
                s(&g["approved_by"]),
                g["expires"]
                    .as_str()
                    .map(|e| format!(", expires {e}"))
                    .unwrap_or_default(),
                if g["live"].as_bool() == Some(false) {
                    " (expired: gives no access)"
                } else {
                    ""
                },
                g["reason"].as_str().map(|r| format!(" — {r}")).unwrap_or_default(),
            )?;
        }
        for p in list("pending") {
            writeln!(
                io.out,
                "  pending: {} {}{} asks, no grant covers it (requested at {})",
                s(&p["kind"]).replace('_', " "),
                p["name"]
                    .as_str()
                    .map(|n| format!("{n} in account "))
                    .unwrap_or_default(),
                s(&p["account"]),
                s(&p["requested_at"]),
            )?;
        }
    }
    Ok(())
}

/// `SLO daily, available by 06:00Z; alarm `mesh-late-…` after 24 hours without a new object → …`,
/// or `None` when the product has no SLO.
fn slo_line(v: &serde_json::Value) -> Option<String> {
    let slo = v["slo"].as_object()?;
    let mut line = format!(
        "SLO {}",
        slo.get("freshness")
            .and_then(|f| f.as_str())
            .unwrap_or("(no freshness)")
    );
    if let Some(by) = slo.get("available_by").and_then(|a| a.as_str()) {
        line.push_str(&format!(", available by {by}"));
    }
    match v["alarm"].as_object() {
        Some(a) => {
            let mut to: Vec<String> = a["notifies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect();
            let emails: Vec<&str> = a["emails"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str())
                .collect();
            if let (Some(first), false) = (to.first_mut(), emails.is_empty()) {
                *first = format!("{first} (e-mail {})", emails.join(", "));
            }
            line.push_str(&format!(
                "; alarm `{}` after {} without a new object under {} → {}",
                a["name"].as_str().unwrap_or_default(),
                a["window"].as_str().unwrap_or_default(),
                a["prefix"].as_str().unwrap_or_default(),
                to.join(", ")
            ));
        }
        None if v["status"] == "active" => line.push_str("; no alarm (no freshness)"),
        None => line.push_str("; no alarm (only active versions have one)"),
    }
    Some(line)
}
