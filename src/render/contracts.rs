//! `contracts.json`: the contract of every live product version (see
//! `crate::contract`), in canonical JSON beside the manifest, so that `diff`
//! and `plan` can tell a breaking change to a live version.

use super::File;
use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

use crate::contract::{Contracts, VersionContract, CONTRACTS_FILE};

/// Versions serialised per task: enough to amortise a task, small enough to spread.
const VERSIONS_PER_TASK: usize = 128;

/// The contracts file of a synthesis. The contract types declare their fields in the order of
/// their JSON names and keep their maps in `BTreeMap`s, so serde_json's pretty printer writes
/// the canonical text directly: no JSON tree is built (the file is ~50 MB for a large org).
/// The versions are written in runs on every core, at their indentation in the file, and
/// joined into one buffer of the exact size.
pub(crate) fn contracts_file<S: Serialize + Sync>(contracts: &Contracts<S>) -> File {
    use rayon::prelude::*;
    let entries: Vec<(&String, &VersionContract<S>)> = contracts.versions.iter().collect();
    let runs: Vec<Vec<u8>> = entries
        .par_chunks(VERSIONS_PER_TASK)
        .map(|run| {
            let mut out = Vec::with_capacity(run.len() * 2048);
            for (key, version) in run {
                out.extend_from_slice(b",\n    ");
                serde_json::to_writer(&mut out, key).expect("a string serialises");
                out.extend_from_slice(b": ");
                let mut ser = serde_json::Serializer::with_formatter(&mut out, Indented::at(2));
                version
                    .serialize(&mut ser)
                    .expect("contracts serialise: string keys and plain values only");
            }
            out
        })
        .collect();
    let head = format!("{{\n  \"format\": {},\n  \"versions\": {{", contracts.format);
    let mut bytes = Vec::with_capacity(head.len() + runs.iter().map(Vec::len).sum::<usize>() + 8);
    bytes.extend_from_slice(head.as_bytes());
    for (i, run) in runs.iter().enumerate() {
        // Every entry starts with its separator; the first has none.
        bytes.extend_from_slice(if i == 0 { &run[1..] } else { run });
    }
    bytes.extend_from_slice(if runs.is_empty() { b"}\n}\n" } else { b"\n  }\n}\n" });
    File {
        path: CONTRACTS_FILE.to_owned(),
        bytes,
    }
}

/// serde_json's `PrettyFormatter` (two spaces), starting at a given depth.
struct Indented {
    depth: usize,
    has_value: bool,
}

impl Indented {
    fn at(depth: usize) -> Self {
        Indented {
            depth,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + io::Write>(&self, w: &mut W) -> io::Result<()> {
        (0..self.depth).try_for_each(|_| w.write_all(b"  "))
    }

    fn newline<W: ?Sized + io::Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }

    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(bracket)
    }
}

impl Formatter for Indented {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::contract::{Consumer, Contracts, Field, TableContract, VersionContract};

    /// Every field set (and every optional one present), so a field declared out of order shows.
    fn full() -> Contracts {
        let field = |name: &str| Field {
            name: name.to_owned(),
            ty: "string".to_owned(),
        };
        let version = VersionContract {
            account: "111111111111".to_owned(),
            consumers: vec![Consumer {
                account: "222222222222".to_owned(),
                contact: Some("#b".to_owned()),
                team: "b".to_owned(),
            }],
            contact: Some("#a".to_owned()),
            highest_version: 2,
            product: "d.p".to_owned(),
            status: "active".to_owned(),
            tables: [(
                "t".to_owned(),
                TableContract {
                    columns: vec![field("c")],
                    partition_keys: vec![field("dt")],
                },
            )]
            .into(),
            team: "a".to_owned(),
            version: 2,
        };
        Contracts {
            format: 1,
            versions: [("d.p@2".to_owned(), version)].into(),
        }
    }

    #[test]
    fn the_direct_text_is_canonical() {
        for contracts in [full(), Contracts::default()] {
            let value = serde_json::to_value(&contracts).expect("serialises");
            let canonical = crate::render::canonical::to_canonical(&value);
            let direct = super::contracts_file(&contracts).bytes;
            assert_eq!(String::from_utf8_lossy(&direct), String::from_utf8_lossy(&canonical));
        }
    }

    #[test]
    fn runs_of_versions_join_into_the_pretty_text() {
        // More versions than one task writes, so runs are joined.
        let one = full().versions.into_values().next().expect("a version");
        let versions = (0..super::VERSIONS_PER_TASK * 2 + 5)
            .map(|i| (format!("d.p\"{i}@1"), one.clone()))
            .collect();
        let contracts = Contracts { format: 1, versions };
        let mut pretty = serde_json::to_vec_pretty(&contracts).expect("serialises");
        pretty.push(b'\n');
        assert_eq!(
            String::from_utf8_lossy(&super::contracts_file(&contracts).bytes),
            String::from_utf8_lossy(&pretty)
        );
    }

    #[test]
    fn the_example_org_writes_canonical_text() {
        let topology = crate::synth::example_topology();
        let contracts = crate::contract::from_topology(&topology);
        assert!(!contracts.versions.is_empty());
        let value = serde_json::to_value(&contracts).expect("serialises");
        let bytes = super::contracts_file(&contracts).bytes;
        assert_eq!(bytes, crate::render::canonical::to_canonical(&value));
        // What synth writes: the same contracts, borrowing the topology's strings.
        let borrowed = crate::contract::from_topology_borrowed(&topology);
        assert_eq!(super::contracts_file(&borrowed).bytes, bytes);
    }
}
