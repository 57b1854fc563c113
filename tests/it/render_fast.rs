//! The fast render path (`src/render/fast`) against Handlebars: every built-in
//! blueprint rendered with the contexts of many orgs (the example org, generated
//! orgs in access modes iam and lakeformation, the CDK-shaped org) through both,
//! byte for byte; blueprint overrides inside and outside the fast path's subset;
//! and errors that must read the same.

use std::path::Path;

use meshsynth::render::{render, Blueprints, File};

use crate::common::{gen_org, repo};

/// Renders `topology` with and without the fast path; the files must be identical.
fn same_both_ways(topology: &Path, blueprints: Option<&Path>) -> usize {
    let (t, _) = meshsynth::validate::read_topology(topology).expect("a valid topology");
    let fast = Blueprints::new(blueprints).expect("blueprints");
    let slow = Blueprints::new(blueprints).expect("blueprints").handlebars_only();
    let mut a = meshsynth::synth::plan(&t).expect("plans");
    let mut b = meshsynth::synth::plan(&t).expect("plans");
    let fa: Vec<File> = render(&fast, &mut a).expect("renders (fast)");
    let fb: Vec<File> = render(&slow, &mut b).expect("renders (Handlebars)");
    assert_eq!(fa.len(), fb.len(), "{}", topology.display());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.path, y.path);
        assert!(
            x.bytes == y.bytes,
            "{} differs in {}:\n{}\n---\n{}",
            x.path,
            topology.display(),
            String::from_utf8_lossy(&x.bytes),
            String::from_utf8_lossy(&y.bytes)
        );
    }
    fa.len()
}

#[test]
fn every_builtin_blueprint_takes_the_fast_path() {
    let bp = Blueprints::new(None).expect("built-ins");
    for name in [
        "baseline",
        "products",
        "consumer",
        "central",
        "identity",
        "access",
        "glue-resource-policy",
    ] {
        assert!(bp.fast_path(name), "{name}");
    }
}

#[test]
fn the_example_org_renders_the_same_both_ways() {
    assert!(same_both_ways(&repo().join("accounts"), None) > 10);
}

#[test]
fn generated_orgs_render_the_same_both_ways() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut files = 0;
    for (i, seed) in ["1", "7", "42"].into_iter().enumerate() {
        let base = [
            "--teams",
            "6",
            "--accounts-per-team",
            "3",
            "--products",
            "40",
            "--consumes",
            "200",
            "--seed",
            seed,
        ];
        for extra in [
            &[][..],
            &["--access-mode", "lakeformation"],
            &["--access-mode", "lakeformation", "--sensitive-columns"],
            &["--sensitive-columns"],
        ] {
            let dir = tmp.path().join(format!("org-{i}-{}", extra.len()));
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            files += same_both_ways(&gen_org(&dir, &args, "json"), None);
        }
    }
    let cdk = gen_org(&tmp.path().join("cdk"), &["--shape", "cdk", "--teams", "8"], "json");
    files += same_both_ways(&cdk, None);
    assert!(files > 300, "{files}");
}

/// Overrides: one in the subset (other constructs than the built-ins use), one outside it.
#[test]
fn overrides_render_the_same_both_ways() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inside = tmp.path().join("inside");
    std::fs::create_dir(&inside).expect("mkdir");
    std::fs::write(
        inside.join("glue-resource-policy.json.hbs"),
        "{{!-- x --}}{\"P\": {{json policy}}, \"S\": [{{#each policy.Statement}}{\"I\": {{@index}}, \"F\": {{@first}}, \
         \"E\": {{json this.Effect}}, \"X\": \"{{id (concat \"a-b\" @index)}}\"}{{#unless @last}},{{/unless}}{{/each}}], \
         \"N\": {{#if policy.Nothing}}1{{else}}2{{/if}}, \"R\": {{json @root.policy.Version}}}\n",
    )
    .expect("write");
    let bp = Blueprints::new(Some(&inside)).expect("compiles");
    assert!(bp.fast_path("glue-resource-policy"));
    same_both_ways(&repo().join("accounts"), Some(&inside));

    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    std::fs::write(
        outside.join("glue-resource-policy.json.hbs"),
        "{{#with policy}}{{json this}}{{/with}}\n",
    )
    .expect("write");
    std::fs::write(
        outside.join("_catalog.json.hbs"),
        "{{~#if true}}{\"Type\": \"AWS::Athena::DataCatalog\", \"Properties\": {\"Name\": {{json name}}}}{{/if~}}",
    )
    .expect("write");
    let bp = Blueprints::new(Some(&outside)).expect("compiles");
    assert!(!bp.fast_path("glue-resource-policy"));
    assert!(
        bp.fast_path("consumer"),
        "its partial `catalog` falls back when it renders"
    );
    same_both_ways(&repo().join("accounts"), Some(&outside));
}

/// A missing field is strict mode's error, named the same way through both paths.
#[test]
fn errors_read_the_same_both_ways() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (i, (file, text)) in [
        ("glue-resource-policy.json.hbs", "{\"a\": {{json nothing_here}}}"),
        ("glue-resource-policy.json.hbs", "{\"a\": {{json policy}}\n\"b\": 1}"),
        ("glue-resource-policy.json.hbs", "{\"a\": \"{{policy.Nope}}\"}"),
        (
            "_bucket.json.hbs",
            "{\"Type\": \"AWS::S3::Bucket\", \"Properties\": {\"X\": {{json (concat name missing)}}}}",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("e{i}"));
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join(file), text).expect("write");
        let (t, _) = meshsynth::validate::read_topology(&repo().join("accounts")).expect("valid");
        let fast = Blueprints::new(Some(&dir)).expect("compiles");
        let slow = Blueprints::new(Some(&dir)).expect("compiles").handlebars_only();
        let a = render(&fast, &mut meshsynth::synth::plan(&t).expect("plans")).expect_err("fails");
        let b = render(&slow, &mut meshsynth::synth::plan(&t).expect("plans")).expect_err("fails");
        assert_eq!(a.to_string(), b.to_string());
        assert!(a.to_string().contains("blueprint `"), "{a}");
    }
}
