//! Master data import against a real SQLite store: the demo set, all-or-nothing files, and
//! the messages that name line and field.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::{Path, PathBuf};

use touchstone_gateway::import::{self, ImportError, Kind};
use touchstone_gateway::store::Store;
use touchstone_model::ids::JobId;
use touchstone_model::metal::Alloy;
use touchstone_model::workshop::{Component, Job, LossBand, Operator, StageDef, Station};

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo")
}

async fn fresh_store(dir: &tempfile::TempDir) -> Store {
    Store::open(&Store::sqlite_url(dir.path())).await.unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn job_id(text: &str) -> JobId {
    text.parse().unwrap()
}

#[tokio::test]
async fn demo_set_imports_into_a_fresh_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;

    let reports = import::import_dir(&store, &demo_dir()).await.unwrap();
    let kinds: Vec<Kind> = reports.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [Kind::Alloys, Kind::Stages, Kind::Stations, Kind::Operators, Kind::LossBands, Kind::Jobs]
    );

    assert_eq!(store.list::<Alloy>().await.unwrap().len(), 8);
    assert_eq!(store.list::<StageDef>().await.unwrap().len(), 12);
    assert_eq!(store.list::<Station>().await.unwrap().len(), 8);
    let operators = store.list::<Operator>().await.unwrap();
    assert_eq!(operators.len(), 9);
    assert_eq!(operators.iter().filter(|o| o.role.may_override()).count(), 3);
    assert_eq!(reports.last().unwrap().count, 12);

    let alloys = store.list::<Alloy>().await.unwrap();
    let pt = alloys.iter().find(|a| a.code.as_str() == "PT950").unwrap();
    assert_eq!(pt.fineness.per_mille(), 950);

    let bands = store.list::<LossBand>().await.unwrap();
    let polish = "polish".parse().unwrap();
    let silver = LossBand::find(&bands, &polish, &"AG925".parse().unwrap()).unwrap();
    assert_eq!(silver.hard_percent.to_string(), "2.66");
    let gold = LossBand::find(&bands, &polish, &"18KY".parse().unwrap()).unwrap();
    assert_eq!(gold.hard_percent.to_string(), "2.0");

    let revised = store.job(&job_id("J-2026-0153")).await.unwrap().unwrap();
    assert!(!revised.cad_is_approved(), "r3 is newer than the approved r2");
    assert_eq!(revised.components.len(), 3);
    let halo = store.job(&job_id("J-2026-0147")).await.unwrap().unwrap();
    assert!(halo.components.iter().any(|c| matches!(c, Component::Packet { count: 24, .. })));
}

#[tokio::test]
async fn a_file_with_one_bad_row_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let path = write(
        &dir,
        "jobs.csv",
        "id,customer_ref,description,alloy,due,route\n\
         J-1,SO-1,Solitaire,18KY,2026-12-20,cad|wax|casting\n\
         J-2,SO-2,Band,14KW,2026-13-01,casting\n",
    );

    let err = import::import_file(&store, &path, None).await.unwrap_err();

    let text = err.to_string();
    assert!(
        text.contains(r#"jobs.csv line 3, field due: "2026-13-01" is not a date (YYYY-MM-DD)"#),
        "{text}"
    );
    assert!(store.job(&job_id("J-1")).await.unwrap().is_none(), "the good row was stored");
}

#[tokio::test]
async fn references_to_unknown_stages_and_alloys_name_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    import::import_dir(&store, &demo_dir()).await.unwrap();
    let path = write(
        &dir,
        "jobs.csv",
        "id,customer_ref,alloy,due,route\n\
         J-9,SO-9,18KY,2026-12-20,cad|enamel\n\
         J-10,SO-10,10KR,2026-12-20,casting\n",
    );

    let err = import::import_file(&store, &path, None).await.unwrap_err();

    let ImportError::Invalid { problems, .. } = &err else { panic!("{err}") };
    let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "line 2, field route: stage `enamel` is not among the stored stages",
            "line 3, field alloy: alloy `10KR` is not among the stored alloys",
        ]
    );
}

#[tokio::test]
async fn components_file_replaces_the_components_of_the_jobs_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    import::import_dir(&store, &demo_dir()).await.unwrap();
    let path = write(
        &dir,
        "components.csv",
        "job_id,type,id,shape,carat,color,clarity,lab,certificate,description,count,total_carat\n\
         J-2026-0150,stone,ST-50001,oval,0.45,F,VS2,GIA,2231456789,,,\n\
         J-2026-0150,packet,PK-9001,,,,,,,melee 1.0 mm,10,0.05\n",
    );

    let report = import::import_file(&store, &path, None).await.unwrap();

    assert_eq!(report.count, 2);
    let job: Job = store.job(&job_id("J-2026-0150")).await.unwrap().unwrap();
    assert_eq!(job.components.len(), 2);
    assert!(job.components.iter().any(|c| matches!(c,
        Component::Stone { certificate: Some(cert), .. } if cert == "2231456789")));
}

#[tokio::test]
async fn components_of_unknown_jobs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let path = write(&dir, "components.csv", "job_id,type,description\nJ-404,part,clasp\n");

    let err = import::import_file(&store, &path, None).await.unwrap_err();

    assert!(err.to_string().contains("components.csv line 2, field job_id: job `J-404`"), "{err}");
}

#[tokio::test]
async fn problems_are_capped_but_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let mut text = String::from("code,name,metal,fineness\n");
    for i in 0..60 {
        text.push_str(&format!("A{i},Alloy {i},gold,2000\n"));
    }
    let path = write(&dir, "alloys.csv", &text);

    let err = import::import_file(&store, &path, None).await.unwrap_err();

    let ImportError::Invalid { problems, total, .. } = &err else { panic!("{err}") };
    assert_eq!((problems.len(), *total), (import::MAX_PROBLEMS, 60));
    assert!(err.to_string().contains("10 more problem(s) not listed"), "{err}");
    assert!(store.list::<Alloy>().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_file_named_for_no_kind_needs_the_kind_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let path = write(&dir, "export.csv", "id,name,stages\nbench-9,Bench 9,\n");

    let err = import::import_file(&store, &path, None).await.unwrap_err();
    assert!(matches!(err, ImportError::UnknownKind { .. }), "{err}");

    let report = import::import_file(&store, &path, Some(Kind::Stations)).await.unwrap();
    assert_eq!(report.count, 1);
}

#[tokio::test]
async fn badges_must_stay_unique_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    import::import_dir(&store, &demo_dir()).await.unwrap();
    let path = write(&dir, "operators.csv", "id,name,badge,role\nop-new,New Hire,B-10421,worker\n");

    let err = import::import_file(&store, &path, None).await.unwrap_err();

    assert!(
        err.to_string().contains("line 2, field badge: badge `B-10421` already belongs to"),
        "{err}"
    );
}

#[tokio::test]
async fn demo_history_puts_jobs_at_their_stages_and_imports_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    import::import_dir(&store, &demo_dir()).await.unwrap();

    let report = import::import_events(&store, &demo_dir().join("events.jsonl")).await.unwrap();
    let again = import::import_events(&store, &demo_dir().join("events.jsonl")).await.unwrap();

    assert!(report.stored > 200, "{report:?}");
    assert_eq!((again.stored, again.duplicates), (0, report.stored));
    let state = |id: &'static str| {
        let store = store.clone();
        async move { store.job_state(&job_id(id)).await.unwrap().unwrap() }
    };
    let polishing = state("J-2026-0141").await;
    assert_eq!((polishing.stage.as_deref(), polishing.in_progress), (Some("polish"), true));
    let revised = state("J-2026-0153").await;
    assert_eq!((revised.stage.as_deref(), revised.held), (Some("cad"), true));
    let shipped = state("J-2026-0171").await;
    assert_eq!((shipped.stage.as_deref(), shipped.in_progress), (Some("finished"), false));
    assert!(store.job_state(&job_id("J-2026-0167")).await.unwrap().is_none());

    let anomalies = store.anomalies_after(0, 1000).await.unwrap();
    let kinds: Vec<(&str, Option<&str>)> =
        anomalies.iter().map(|a| (a.kind.as_str(), a.job.as_deref())).collect();
    assert!(kinds.contains(&("stone_of_another_job", Some("J-2026-0147"))), "{anomalies:#?}");
    assert!(kinds.contains(&("loss_over_warning", Some("J-2026-0158"))), "{anomalies:#?}");
    assert_eq!(anomalies.len(), 2, "only the two staged anomalies: {anomalies:#?}");
}

#[tokio::test]
async fn csv_files_of_every_kind_import_in_dependency_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir).await;
    let files = tempfile::tempdir().unwrap();
    // Written in the reverse of the order they must load in.
    write(&files, "components.csv", "job_id,type,id,carat\nJ-7,stone,ST-7,0.90\n");
    write(
        &files,
        "jobs.csv",
        "id,customer_ref,alloy,due,route\nJ-7,SO-7,18KY,2027-01-10,casting|polish\n",
    );
    write(
        &files,
        "loss-bands.csv",
        "stage,alloy,warn_percent,hard_percent\npolish,,1.0,2.0\npolish,AG925,1.33,2.66\n",
    );
    write(
        &files,
        "operators.csv",
        "id,name,badge,role,active\n\
         op-1,Ana Ruiz,B-1,supervisor,yes\n\
         op-2,Old Hand,B-2,worker,no\n",
    );
    write(&files, "stations.csv", "id,name,stages\nbench-7,Bench 7,casting|polish\n");
    write(
        &files,
        "stages.csv",
        "id,name,requires_weight,requires_approved_cad\n\
         casting,Casting,true,\n\
         polish,Polishing,1,false\n",
    );
    write(
        &files,
        "alloys.csv",
        "code,name,metal,fineness\n18KY,18K yellow,Gold,750\nAG925,Sterling,silver,925\n",
    );
    write(&files, "notes.txt", "not master data\n");

    let reports = import::import_dir(&store, files.path()).await.unwrap();

    let names: Vec<&str> = reports.iter().map(|r| r.file.as_str()).collect();
    assert_eq!(
        names,
        [
            "alloys.csv",
            "stages.csv",
            "stations.csv",
            "operators.csv",
            "loss-bands.csv",
            "jobs.csv",
            "components.csv"
        ]
    );
    let stages = store.list::<StageDef>().await.unwrap();
    let polish = stages.iter().find(|s| s.id.as_str() == "polish").unwrap();
    assert!(polish.requires_weight && !polish.requires_approved_cad);
    let casting = stages.iter().find(|s| s.id.as_str() == "casting").unwrap();
    assert!(casting.requires_approved_cad, "an empty cell takes the default");
    let operators = store.list::<Operator>().await.unwrap();
    assert_eq!(operators.iter().filter(|o| o.active).count(), 1);
    let bands = store.list::<LossBand>().await.unwrap();
    assert_eq!(bands.len(), 2);
    let job = store.job(&job_id("J-7")).await.unwrap().unwrap();
    assert_eq!(job.route.len(), 2);
    assert_eq!(job.components.len(), 1, "components.csv loaded after jobs.csv");
}
