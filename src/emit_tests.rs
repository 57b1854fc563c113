//! Tests of `emit`: staging, all-or-nothing writes, and `--check`.

use super::*;

fn file(path: &str, text: &str) -> File {
    File {
        path: path.into(),
        bytes: text.as_bytes().to_vec(),
    }
}

#[test]
fn writes_changes_removes_stale_and_keeps_foreign_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let v1 = vec![
        file("manifest.json", "1"),
        file("111111111111/mesh-a.template.json", "a"),
    ];
    let c = write(&out, &v1).expect("write");
    assert_eq!(c.added.len(), 2);
    std::fs::write(out.join("README.md"), "mine").expect("write");
    let v2 = vec![
        file("manifest.json", "2"),
        file("222222222222/mesh-b.template.json", "b"),
    ];
    let c = write(&out, &v2).expect("write");
    assert_eq!(c.added, vec!["222222222222/mesh-b.template.json"]);
    assert_eq!(c.changed, vec!["manifest.json"]);
    assert_eq!(c.removed, vec!["111111111111/mesh-a.template.json"]);
    assert!(!out.join("111111111111").exists());
    assert!(out.join("README.md").exists());
    assert!(write(&out, &v2).expect("write").is_empty());
    // Nothing is left beside the target.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
    assert_eq!(leftovers.len(), 1);
}

#[test]
fn new_folders_move_whole_and_an_unchanged_synth_rewrites_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("nested/out");
    let v1: Vec<File> = (0..50)
        .map(|i| file(&format!("{:012}/mesh-{i}.template.json", 100 + i % 7), &format!("{i}")))
        .chain([file("manifest.json", "1")])
        .collect();
    let c = write(&out, &v1).expect("write into a folder that does not exist");
    assert_eq!(c.added.len(), 51);
    for f in &v1 {
        assert_eq!(std::fs::read(out.join(&f.path)).expect("written"), f.bytes);
    }
    let stamp = |p: &str| {
        std::fs::metadata(out.join(p))
            .and_then(|m| m.modified())
            .expect("mtime")
    };
    let before: Vec<_> = v1.iter().map(|f| stamp(&f.path)).collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let c = write(&out, &v1).expect("write again");
    assert!(c.is_empty());
    assert_eq!(c.unchanged, 51);
    assert_eq!(before, v1.iter().map(|f| stamp(&f.path)).collect::<Vec<_>>());
    // A new account folder (moved whole) beside a changed file in an existing one.
    let mut v2 = v1.clone();
    v2.push(file("999999999999/mesh-new.template.json", "new"));
    v2[0].bytes = b"changed".to_vec();
    let c = write(&out, &v2).expect("write");
    assert_eq!(c.added, vec!["999999999999/mesh-new.template.json"]);
    assert_eq!(c.changed, vec![v2[0].path.clone()]);
    assert_eq!(std::fs::read(out.join(&v2[0].path)).expect("read"), b"changed");
    assert_eq!(
        std::fs::read(out.join("999999999999/mesh-new.template.json")).expect("read"),
        b"new"
    );
    assert_eq!(stamp(&v1[1].path), before[1], "an unchanged file is not rewritten");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("nested")).expect("read").collect();
    assert_eq!(leftovers.len(), 1, "no staging folder is left behind");
}

/// A file that cannot be written while staging (its name is longer than any file system
/// allows; root ignores permissions, so that is the failure a test can rely on): the
/// target keeps every file as it was and no staging folder is left.
#[test]
fn a_failure_while_staging_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let v1: Vec<File> = (0..40)
        .map(|i| file(&format!("{:012}/mesh-{i}.template.json", 100 + i % 5), "v1"))
        .chain([file("manifest.json", "1")])
        .collect();
    write(&out, &v1).expect("write");
    let mut v2: Vec<File> = v1
        .iter()
        .map(|f| file(&f.path, "v2"))
        .chain((0..40).map(|i| file(&format!("{:012}/mesh-{i}.template.json", 900 + i % 5), "new")))
        .collect();
    v2.push(file(
        &format!("333333333333/{}.template.json", "x".repeat(300)),
        "too long",
    ));
    let Err(EmitError::Write { path, .. }) = write(&out, &v2) else {
        panic!("a name too long must fail the write")
    };
    assert!(path.to_string_lossy().contains("xxxx"), "{}", path.display());
    for f in &v1 {
        assert_eq!(std::fs::read(out.join(&f.path)).expect("kept"), f.bytes, "{}", f.path);
    }
    let mut accounts: Vec<_> = std::fs::read_dir(&out)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    accounts.sort();
    assert_eq!(accounts.len(), 6, "no new folder appeared: {accounts:?}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
    assert_eq!(leftovers.len(), 1, "no staging folder is left behind");
}

/// Batches staged and then abandoned (the caller failed before `finish`, e.g. a later
/// account did not render): the target is as it was and the staging folder is gone.
#[test]
fn an_output_dropped_before_finish_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let v1 = vec![file("manifest.json", "1"), file("111111111111/a.template.json", "a")];
    write(&out, &v1).expect("write");
    let output = Output::new(&out, Mode::Write).expect("list");
    output
        .put(&[file("111111111111/a.template.json", "a2")])
        .expect("stage a change");
    output
        .put(&[file("222222222222/b.template.json", "b")])
        .expect("stage a new folder");
    let staged: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
    assert_eq!(staged.len(), 2, "the staging folder exists while batches come");
    drop(output);
    assert_eq!(std::fs::read(out.join("manifest.json")).expect("read"), b"1");
    assert_eq!(
        std::fs::read(out.join("111111111111/a.template.json")).expect("read"),
        b"a"
    );
    assert!(!out.join("222222222222").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
    assert_eq!(leftovers.len(), 1, "no staging folder is left behind");
}

/// Batches in any order, the manifest last: the same changes as one `write`, and
/// `Mode::Check` reports them without touching anything.
#[test]
fn batches_add_up_to_one_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let v1 = vec![
        file("manifest.json", "1"),
        file("111111111111/a.template.json", "a"),
        file("333333333333/c.template.json", "c"),
    ];
    write(&out, &v1).expect("write");
    let check = Output::new(&out, Mode::Check).expect("list");
    check
        .put(&[file("222222222222/b.template.json", "b")])
        .expect("compare");
    check
        .put(&[file("111111111111/a.template.json", "a2")])
        .expect("compare");
    let c = check.finish(&[file("manifest.json", "1")]).expect("check");
    assert_eq!(c.added, vec!["222222222222/b.template.json"]);
    assert_eq!(c.changed, vec!["111111111111/a.template.json"]);
    assert_eq!(c.removed, vec!["333333333333/c.template.json"]);
    assert_eq!(c.unchanged, 1);
    assert_eq!(
        std::fs::read(out.join("111111111111/a.template.json")).expect("read"),
        b"a"
    );
    let output = Output::new(&out, Mode::Write).expect("list");
    output.put(&[file("222222222222/b.template.json", "b")]).expect("stage");
    output
        .put(&[file("111111111111/a.template.json", "a2")])
        .expect("stage");
    assert_eq!(output.finish(&[file("manifest.json", "1")]).expect("write"), c);
    assert_eq!(
        std::fs::read(out.join("111111111111/a.template.json")).expect("read"),
        b"a2"
    );
    assert_eq!(
        std::fs::read(out.join("222222222222/b.template.json")).expect("read"),
        b"b"
    );
    assert!(!out.join("333333333333").exists());
}

#[test]
fn a_failed_write_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let v1 = vec![file("manifest.json", "1"), file("111111111111/a.template.json", "a")];
    write(&out, &v1).expect("write");
    // A path that cannot be written (its folder would have to be a file): diff fails,
    // before anything moves.
    std::fs::write(out.join("222222222222"), "a file where a folder goes").expect("write");
    let v2 = vec![
        file("manifest.json", "2"),
        file("111111111111/a.template.json", "a2"),
        file("222222222222/b.template.json", "b"),
    ];
    assert!(write(&out, &v2).is_err());
    assert_eq!(std::fs::read(out.join("manifest.json")).expect("read"), b"1");
    assert_eq!(
        std::fs::read(out.join("111111111111/a.template.json")).expect("read"),
        b"a"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
    assert_eq!(leftovers.len(), 1, "no staging folder is left behind");
}
