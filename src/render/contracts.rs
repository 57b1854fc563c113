//! `contracts.json`: the contract of every live product version (see
//! `crate::contract`), in canonical JSON beside the manifest, so that `diff`
//! and `plan` can tell a breaking change to a live version.

use super::File;
use crate::contract::{Contracts, CONTRACTS_FILE};

/// The contracts file of a synthesis.
pub(crate) fn contracts_file(contracts: &Contracts) -> File {
    let value = serde_json::to_value(contracts).expect("contracts serialise: string keys and plain values only");
    File {
        path: CONTRACTS_FILE.to_owned(),
        bytes: super::canonical::to_canonical(&value),
    }
}
