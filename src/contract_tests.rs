use super::*;

fn field(name: &str, ty: &str) -> Field {
    Field {
        name: name.to_owned(),
        ty: ty.to_owned(),
    }
}

/// `podcasts.episodes@2`: table `episodes` (episode_id, title, duration) by `dt`,
/// table `shows` (show_id), consumed by team ads.
fn base() -> BTreeMap<String, VersionContract> {
    let mut tables = BTreeMap::new();
    tables.insert(
        "episodes".to_owned(),
        TableContract {
            columns: vec![
                field("episode_id", "string"),
                field("title", "string"),
                field("duration", "int"),
            ],
            partition_keys: vec![field("dt", "date")],
        },
    );
    tables.insert(
        "shows".to_owned(),
        TableContract {
            columns: vec![field("show_id", "string")],
            partition_keys: Vec::new(),
        },
    );
    let v = VersionContract {
        product: "podcasts.episodes".into(),
        version: 2,
        status: "active".into(),
        account: "111111111111".into(),
        team: "shows".into(),
        contact: Some("#team-shows".into()),
        highest_version: 2,
        tables,
        consumers: vec![Consumer {
            team: "ads".into(),
            account: "222222222222".into(),
            contact: Some("#team-ads".into()),
        }],
    };
    BTreeMap::from([("podcasts.episodes@2".to_owned(), v)])
}

fn edit(f: impl FnOnce(&mut VersionContract)) -> BTreeMap<String, VersionContract> {
    let mut c = base();
    f(c.get_mut("podcasts.episodes@2").expect("present"));
    c
}

fn table<'a>(v: &'a mut VersionContract, name: &str) -> &'a mut TableContract {
    v.tables.get_mut(name).expect("table")
}

fn kinds(new: &BTreeMap<String, VersionContract>) -> Vec<(BreakingKind, String)> {
    breaking(&base(), new, &BTreeMap::new())
        .into_iter()
        .flat_map(|b| b.changes)
        .map(|c| (c.kind, c.detail))
        .collect()
}

#[test]
fn removing_a_column_breaks() {
    let new = edit(|v| {
        table(v, "episodes").columns.remove(2);
    });
    assert_eq!(
        kinds(&new),
        vec![(
            BreakingKind::ColumnRemoved,
            "column `duration` removed from table `episodes`".to_owned()
        )]
    );
}

#[test]
fn renaming_a_column_breaks() {
    let new = edit(|v| table(v, "episodes").columns[1] = field("episode_title", "string"));
    assert_eq!(
        kinds(&new),
        vec![(
            BreakingKind::ColumnRenamed,
            "column `title` of table `episodes` renamed to `episode_title`".to_owned()
        )]
    );
}

#[test]
fn retyping_a_column_breaks() {
    let new = edit(|v| table(v, "episodes").columns[2] = field("duration", "bigint"));
    assert_eq!(
        kinds(&new),
        vec![(
            BreakingKind::ColumnRetyped,
            "column `duration` of table `episodes` changes type from int to bigint".to_owned()
        )]
    );
}

#[test]
fn changing_partition_keys_breaks() {
    let new = edit(|v| table(v, "episodes").partition_keys.push(field("hour", "tinyint")));
    assert_eq!(
        kinds(&new),
        vec![(
            BreakingKind::PartitionKeysChanged,
            "partition keys of table `episodes` change from (dt date) to (dt date, hour tinyint)".to_owned()
        )]
    );
}

#[test]
fn removing_a_table_breaks() {
    let new = edit(|v| {
        v.tables.remove("shows");
    });
    assert_eq!(
        kinds(&new),
        vec![(BreakingKind::TableRemoved, "table `shows` removed".to_owned())]
    );
}

#[test]
fn adding_columns_or_tables_reordering_and_deprecating_do_not_break() {
    let new = edit(|v| {
        let t = table(v, "episodes");
        t.columns.push(field("language", "string"));
        t.columns.swap(0, 1);
        v.tables.insert("clips".into(), TableContract::default());
        v.status = "deprecated".into();
        v.consumers.clear();
    });
    assert_eq!(kinds(&new), Vec::new());
}

#[test]
fn retiring_a_version_is_the_lifecycle_not_a_breaking_change() {
    assert_eq!(kinds(&BTreeMap::new()), Vec::new());
}

#[test]
fn the_verdict_names_consumers_and_the_next_version() {
    let new = edit(|v| {
        table(v, "episodes").columns.remove(1);
    });
    let b = breaking(&base(), &new, &BTreeMap::new());
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].suggested_version, 3);
    assert_eq!(
        render_text(&b),
        "Breaking changes to live versions (1):\n  podcasts.episodes@2 (active):\n    ! column `title` removed from table `episodes`\n    notify: team ads (account 222222222222, #team-ads)\n    instead: publish the change as podcasts.episodes@3 (a new version) and deprecate @2, so consumers move when they are ready\n"
    );
}

#[test]
fn consumers_come_from_the_listing_when_the_new_side_has_none() {
    let new = edit(|v| {
        v.consumers.clear();
        v.tables.remove("shows");
    });
    let b = breaking(&base(), &new, &base());
    assert_eq!(b[0].consumers.len(), 1);
}

#[test]
fn templates_give_the_same_contract_as_the_topology() {
    let t = crate::synth::example_topology();
    let contracts = from_topology(&t);
    let mut synthesis = crate::synth::plan(&t).expect("plans");
    let bp = crate::render::Blueprints::new(None).expect("built-ins");
    let files = crate::render::render(&bp, &mut synthesis).expect("renders");
    let mut from_templates = BTreeMap::new();
    for f in files.iter().filter(|f| f.path.contains("/mesh-products")) {
        let json: Value = serde_json::from_slice(&f.bytes).expect("json");
        let account = f.path.split('/').next().expect("account folder");
        from_templates.extend(from_template(account, &json));
    }
    assert_eq!(from_templates.len(), contracts.versions.len());
    for (key, v) in &contracts.versions {
        let t = &from_templates[key];
        assert_eq!(t.tables, v.tables, "{key}");
        assert_eq!(t.status, v.status, "{key}");
    }
    assert!(breaking(&contracts.versions, &from_templates, &contracts.versions).is_empty());
}
