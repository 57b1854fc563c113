//! Reading a topology fails loudly and exactly: JSON topologies report the
//! line and column of what is wrong, like YAML ones, and a team file that
//! cannot be read stops the run (exit 2, naming the file) rather than being
//! left out of validation.

use crate::common;

use common::{example_workspace, meshsynth};

/// (fixture under tests/fixtures/json/, the exact stderr of `validate`)
const JSON_CASES: &[(&str, &str)] = &[
    (
        "bad-account-id",
        r#"error: tests/fixtures/json/bad-account-id.json:72:17: `33333333333x` is not an AWS account id (write the 12 digits as a quoted string, e.g. "012345678901")
"#,
    ),
    (
        "missing-comma",
        "error: tests/fixtures/json/missing-comma.json:6:5: expected `,` or `}` (see `meshsynth schema` for the format)\n",
    ),
];

#[test]
fn json_topologies_report_line_and_column() {
    let failures = common::exact_validate_failures("json", "json", JSON_CASES);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A team file that is a link to nothing: the run stops, naming it, instead
/// of validating (and synthesising) the org without that team.
#[test]
fn a_dangling_team_file_fails_naming_it() {
    let ws = example_workspace();
    let ghost = ws.path().join("accounts/teams/ghost.yaml");
    std::os::unix::fs::symlink(ws.path().join("accounts/teams/gone.yaml"), &ghost).expect("make a dangling link");
    for args in [&["validate"][..], &["synth", "--check"][..]] {
        let output = meshsynth(ws.path())
            .args(["-t", "accounts"])
            .args(args)
            .output()
            .expect("run meshsynth");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "error: cannot read `accounts/teams/ghost.yaml`: no such file or directory\n",
            "{args:?}"
        );
        assert!(output.stdout.is_empty());
    }
}

/// A team file that exists but cannot be read (here: `/proc/self/mem`, which
/// refuses reads at offset 0 even for root, who may read any mode-000 file).
#[test]
fn an_unreadable_team_file_fails_naming_it() {
    let ws = example_workspace();
    let team = ws.path().join("accounts/teams/unreadable.yaml");
    std::os::unix::fs::symlink("/proc/self/mem", &team).expect("link to an unreadable file");
    let output = meshsynth(ws.path())
        .args(["-t", "accounts", "validate"])
        .output()
        .expect("run meshsynth");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot read `accounts/teams/unreadable.yaml`: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
