//! `contracts.json`: the contract of every live product version (see
//! `crate::contract`), in canonical JSON beside the manifest, so that `diff`
//! and `plan` can tell a breaking change to a live version.

use super::File;
use crate::contract::{Contracts, CONTRACTS_FILE};

/// The contracts file of a synthesis. The contract types declare their fields in the order of
/// their JSON names and keep their maps in `BTreeMap`s, so serde_json's pretty printer writes
/// the canonical text directly: no JSON tree is built (the file is ~50 MB for a large org).
pub(crate) fn contracts_file(contracts: &Contracts) -> File {
    let mut bytes =
        serde_json::to_vec_pretty(contracts).expect("contracts serialise: string keys and plain values only");
    bytes.push(b'\n');
    File {
        path: CONTRACTS_FILE.to_owned(),
        bytes,
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
    fn the_example_org_writes_canonical_text() {
        let contracts = crate::contract::from_topology(&crate::synth::example_topology());
        assert!(!contracts.versions.is_empty());
        let value = serde_json::to_value(&contracts).expect("serialises");
        assert_eq!(
            super::contracts_file(&contracts).bytes,
            crate::render::canonical::to_canonical(&value)
        );
    }
}
